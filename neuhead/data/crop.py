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


def cut_below_neck(mask: np.ndarray, K: np.ndarray, c2w_canonical: np.ndarray, y_mm: float | None = None) -> np.ndarray:
    """The mask with everything below the neck cleared: below (on the far side from the face) the
    image of the canonical line ``y = y_mm, z = 0`` (default ``NECK_CUT_MM``). The synthetic
    training heads end there, so shoulders in a photo's mask would ask the prior for a body it never saw."""
    y_mm = NECK_CUT_MM if y_mm is None else y_mm
    w2c = np.linalg.inv(c2w_canonical)
    pts = np.array([[-150.0, y_mm, 0.0], [150.0, y_mm, 0.0], [0.0, y_mm - 100.0, 0.0]])
    uvw = (pts @ w2c[:3, :3].T + w2c[:3, 3]) @ np.asarray(K, dtype=np.float64).T
    (a, b, below) = uvw[:, :2] / uvw[:, 2:]
    h, w = mask.shape
    vv, uu = np.mgrid[0:h, 0:w] + 0.5
    side = lambda u, v: (b[0] - a[0]) * (v - a[1]) - (b[1] - a[1]) * (u - a[0])  # noqa: E731
    out = mask.copy()
    out[np.sign(side(uu, vv)) == np.sign(side(*below))] = 0
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
