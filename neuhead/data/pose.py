"""Head pose from the six landmarks of one view: PnP against the canonical reference set."""

from __future__ import annotations

import numpy as np

from neuhead.data.canonical import CANONICAL_CENTER_MM, LANDMARK_NAMES, reference_array
from neuhead.errors import InputError

LANDMARK_WEIGHTS = {"right_eye": 1.0, "left_eye": 1.0, "nose_tip": 1.0, "nose_base": 1.0, "right_lips": 0.25,
                    "left_lips": 0.25}
"""PnP weights: the mouth corners move with expression (a broad smile on ``skimage.data.astronaut()``
tilts an unweighted solution by ≈ 25°); 0.25 costs ≈ 0.7° median on synthetic heads"""
RIGID_LANDMARKS = ("right_eye", "left_eye", "nose_tip", "nose_base")
"""landmarks that barely move with expression (the second PnP start)"""
DEFAULT_CAMERA_DISTANCE_MM = 1000.0
"""camera distance assumed for a photo whose field of view is neither given nor in its EXIF: perspective depends
on the distance alone (a crop of a photo keeps it), and 1 m lies between a selfie at arm's length (0.4-0.6 m)
and a portrait from a few metres; the field of view follows from the face's size in the photo"""
ASSUMED_FOV_Y_RANGE_DEG = (5.0, 75.0)
"""the field of view an assumed distance may give (a telephoto to a phone's main camera held upright): a small face
in a large photo is a wide photo from further away, not a 120 deg lens at 1 m"""
DEFAULT_FOV_Y_DEG = 10.0
"""``photo_intrinsics``' default field of view (a telephoto); a photo's own comes from ``--fov``, its EXIF or
``fov_y_for_distance``"""
FOV_Y_RANGE_DEG = (0.5, 120.0)
"""vertical fields of view a photo may be given (degrees)"""


def check_fov_y_deg(fov_y_deg: float | None, option: str = "--fov") -> None:
    """``InputError`` (one line naming ``option``) unless ``fov_y_deg`` is None or within ``FOV_Y_RANGE_DEG``."""
    lo, hi = FOV_Y_RANGE_DEG
    if fov_y_deg is not None and not lo <= fov_y_deg <= hi:
        raise InputError(f"{option} {fov_y_deg}: the vertical field of view must be within {lo:g}-{hi:g} degrees")


def photo_intrinsics(width: int, height: int, fov_y_deg: float = DEFAULT_FOV_Y_DEG) -> np.ndarray:
    """K (3, 3) of the whole photo at the assumed field of view (``neuhead.cameras.intrinsics``)."""
    from neuhead.cameras import intrinsics

    return intrinsics(fov_y_deg, width, height)


def fov_y_for_distance(points2d: np.ndarray, width: int, height: int,
                       distance_mm: float = DEFAULT_CAMERA_DISTANCE_MM) -> float:
    """The vertical field of view (deg) of a ``width`` x ``height`` photo at which ``solve_pose`` of its six
    landmarks ``points2d`` puts the camera ``distance_mm`` from the canonical head centre, within
    ``ASSUMED_FOV_Y_RANGE_DEG``. It starts where the landmarks' extent matches the reference's at that distance;
    the distance grows almost linearly with the focal length at a fixed face size, so ``f <- f * distance / d(f)``
    settles in two or three rounds (at most six are taken)."""
    def fov_of(f: float) -> float:  # the vertical field of view (deg) of focal length f (px), within the range
        return float(np.clip(np.rad2deg(2 * np.arctan(0.5 * height / f)), *ASSUMED_FOV_Y_RANGE_DEG))

    x = np.asarray(points2d, np.float64).reshape(-1, 2)
    ref = reference_array()[:, :2]
    fov = fov_of(distance_mm * np.ptp(x, axis=0).max() / np.ptp(ref, axis=0).max())  # the face's size there
    for _ in range(6):
        K = photo_intrinsics(width, height, fov)
        try:
            c2w, _ = solve_pose(x, K)
        except ValueError:
            return fov
        new = fov_of(K[1, 1] * distance_mm / float(np.linalg.norm(c2w[:3, 3] - CANONICAL_CENTER_MM)))
        if abs(new - fov) < 1e-3:
            break
        fov = new
    return fov


def solve_pose(points2d: np.ndarray, K: np.ndarray, names=LANDMARK_NAMES,
               weights: dict[str, float] | None = None) -> tuple[np.ndarray, float]:
    """Camera-to-canonical ``c2w`` (4, 4) (mm) from 2D landmarks (m, 2) by PnP against the reference.

    ``p_cam = R p_can + t``; minimises ``sum_i w_i |pi(K (R X_i + t)) - x_i|^2`` (Levenberg-Marquardt,
    scipy) from two SQPnP starts (all points; the rigid eyes + nose only), keeping the lower cost.
    ``weights`` default ``LANDMARK_WEIGHTS`` (mouth corners down-weighted: they move with
    expression). ``c2w = [R | t]^-1``. Returns c2w and the unweighted RMS reprojection error (px).
    Raises ``ValueError`` when the solution puts the head behind the camera or the camera behind the head.
    """
    import cv2
    from scipy.optimize import least_squares

    names = list(names)
    weights = LANDMARK_WEIGHTS if weights is None else weights
    obj = reference_array(names).astype(np.float64)  # (m, 3)
    x = np.asarray(points2d, dtype=np.float64).reshape(-1, 2)
    K = np.asarray(K, dtype=np.float64)
    sw = np.sqrt([weights.get(n, 1.0) for n in names])
    # (where pixel centres sit does not matter here: K and the points share one pixel frame)

    def residuals(p):
        R = cv2.Rodrigues(p[:3])[0]
        uvw = (obj @ R.T + p[3:]) @ K.T
        return ((uvw[:, :2] / uvw[:, 2:] - x) * sw[:, None]).ravel()

    best = None
    rigid = [i for i, n in enumerate(names) if n in RIGID_LANDMARKS]
    for sel in (list(range(len(names))), rigid):
        if len(sel) < 4:
            continue
        try:
            ok, rvec, tvec = cv2.solvePnP(obj[sel], x[sel].reshape(-1, 1, 2), K, None, flags=cv2.SOLVEPNP_SQPNP)
        except cv2.error:  # SQPnP refuses points whose normalised spread is tiny (a small face, a long lens)
            continue
        if not ok or tvec[2, 0] <= 0:
            continue
        fit = least_squares(residuals, np.concatenate([rvec[:, 0], tvec[:, 0]]), method="lm")
        if best is None or fit.cost < best.cost:
            best = fit
    if best is None:
        raise ValueError("PnP found no pose")
    R = cv2.Rodrigues(best.x[:3])[0]
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, best.x[3:]
    c2w = np.linalg.inv(w2c)
    uvw = (obj @ R.T + best.x[3:]) @ K.T
    rms = float(np.sqrt(np.mean(np.sum((uvw[:, :2] / uvw[:, 2:] - x) ** 2, axis=1))))
    if uvw[:, 2].min() <= 0:
        raise ValueError("PnP put the face behind the camera")
    if c2w[2, 3] <= 0:
        raise ValueError("PnP put the camera behind the head")
    return c2w, rms
