"""Cutting a photo to the head: the crop window, the crop's intrinsics, the neck cut of a mask."""

from __future__ import annotations

import numpy as np

CROP_WINDOW_MM = 340.0
"""height of the head window (mm at the head) a crop covers at least: the synthetic portrait rig's framing"""
CROP_CENTER_MM = np.array([0.0, 20.0, 20.0])
"""canonical point (mm) the crop is centred on: the synthetic portrait rig's look-at target"""
CROP_MARGIN = 0.15
"""margin around the landmarks / mask top, as a fraction of the crop side"""
NECK_CUT_MM = -120.0
"""the segmentation mask is cleared below this canonical height (mm; the synthetic necks end at ≈ -110..-127)"""
NECK_COLUMN_TOP_MM = -80.0
"""below this canonical height (under the jaw) the mask is kept only within the neck column (``NECK_HALF_WIDTH_MM``)"""
NECK_HALF_WIDTH_MM = 75.0
"""half-width (mm) of the neck column: the synthetic necks reach ±42..79 mm between -80 and -110 mm (vertices); on the
six acceptance heads' frontal renders it cleared none of the true mask and 0-43 % of what the segmenter added"""


def neck_plane_coords(shape: tuple[int, int], K: np.ndarray, c2w_canonical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical height and sideways offset (mm) where each pixel's ray meets the vertical plane through the
    canonical y axis that faces the camera (the neck's plane as the camera sees it); NaN where the plane is behind
    the camera. The plane's (sideways, height) coordinates map to pixels by a homography, so each pixel costs a
    3 x 3 product on two broadcast axes, not a ray."""
    c2w = np.asarray(c2w_canonical, dtype=np.float64)
    toward = np.array([c2w[0, 3], 0.0, c2w[2, 3]])  # horizontal direction from the y axis to the camera
    toward = toward / np.linalg.norm(toward) if np.linalg.norm(toward) > 1e-6 else np.array([0.0, 0.0, 1.0])
    side = np.cross([0.0, 1.0, 0.0], toward)
    w2c = np.linalg.inv(c2w)
    H = np.asarray(K, dtype=np.float64) @ np.column_stack([w2c[:3, :3] @ side, w2c[:3, 1], w2c[:3, 3]])
    Hi = np.linalg.inv(H)  # pixel (u, v, 1) -> (sideways, height, 1) / depth
    h, w = shape
    u, v = np.arange(w)[None, :] + 0.5, np.arange(h)[:, None] + 0.5
    q = [Hi[i, 0] * u + Hi[i, 1] * v + Hi[i, 2] for i in range(3)]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_depth = np.where(q[2] > 0, q[2], np.nan)
        return q[1] / inv_depth, q[0] / inv_depth


def cut_below_neck(mask: np.ndarray, K: np.ndarray, c2w_canonical: np.ndarray, y_mm: float | None = None,
                   half_width_mm: float = NECK_HALF_WIDTH_MM, column_top_mm: float = NECK_COLUMN_TOP_MM) -> np.ndarray:
    """The mask with the body cleared: everything below the canonical height ``y_mm`` (default ``NECK_CUT_MM``)
    and, below ``column_top_mm`` (under the jaw), everything further than ``half_width_mm`` sideways from the
    neck's axis, both measured on the vertical plane through the canonical y axis that faces the camera
    (``neck_plane_coords``). The synthetic training heads end at the neck and have no shoulders, so shoulders in a
    photo's mask (or those a segmenter invents under a bare neck) would ask the prior for a body it never saw."""
    y_mm = NECK_CUT_MM if y_mm is None else y_mm
    y, lateral = neck_plane_coords(mask.shape, K, c2w_canonical)
    with np.errstate(invalid="ignore"):
        body = (y < y_mm) | ((y < column_top_mm) & (np.abs(lateral) > half_width_mm))
    out = mask.copy()
    out[body] = 0
    return out


def head_crop(K: np.ndarray, c2w_canonical: np.ndarray, face_points: np.ndarray, mask: np.ndarray | None,
              margin: float = CROP_MARGIN) -> tuple[int, int, int]:
    """Square crop (x0, y0, side) in photo pixels around the head.

    Starts from the window that frames ``CROP_WINDOW_MM`` around ``CROP_CENTER_MM`` at the head's
    distance (the synthetic portrait framing), then grows it (keeping the head centred) until it
    holds the face points and the top of the mask above the face with ``margin``.
    """
    w2c = np.linalg.inv(c2w_canonical)
    c_cam = w2c[:3, :3] @ CROP_CENTER_MM + w2c[:3, 3]
    uvw = K @ c_cam
    cx, cy = uvw[:2] / uvw[2]
    half = 0.5 * K[1, 1] * CROP_WINDOW_MM / c_cam[2]
    need = np.abs(face_points - (cx, cy)).max() * (1 + 2 * margin)
    if mask is not None:
        # hair: the highest foreground pixel in the columns the face spans, capped at 1.5x the window
        x0, x1 = face_points[:, 0].min(), face_points[:, 0].max()
        cols = mask[:, max(int(x0), 0): max(int(np.ceil(x1)), 1)] > 0.5
        rows = np.flatnonzero(cols.any(axis=1))
        if rows.size:
            need = max(need, min((cy - rows[0]) * (1 + 2 * margin), 1.5 * half))
    half = max(half, need)
    side = max(int(round(2 * half)), 8)
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def cut_square(a: np.ndarray, x0: int, y0: int, side: int, size: int, pad: str) -> np.ndarray:
    """The square [x0, x0+side) x [y0, y0+side) of ``a`` (H, W[, C]), padded outside the image
    (``pad``: "edge" or "zero"), resized to ``size``² with the area filter (cv2 INTER_AREA)."""
    import cv2

    h, w = a.shape[:2]
    pads = [(max(-y0, 0), max(y0 + side - h, 0)), (max(-x0, 0), max(x0 + side - w, 0))] + [(0, 0)] * (a.ndim - 2)
    sub = a[max(y0, 0): min(y0 + side, h), max(x0, 0): min(x0 + side, w)]
    sub = np.pad(sub, pads, mode="edge" if pad == "edge" else "constant")
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(sub, dtype=np.float32), (size, size), interpolation=interp)


def crop_intrinsics(K: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """K after cutting the square (x0, y0, side) and resizing it to ``size``: ``A K``,
    ``A = [[s, 0, -s x0], [0, s, -s y0], [0, 0, 1]]``, ``s = size / side`` (pixel edges at integers)."""
    s = size / side
    A = np.array([[s, 0, -s * x0], [0, s, -s * y0], [0, 0, 1.0]])
    return A @ np.asarray(K, dtype=np.float64)
