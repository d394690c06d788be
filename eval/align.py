"""Alignment of point sets: landmark similarity (Umeyama), ICP, and the H3DS toolbox's ICP.

No imports from neuhead. The library's own alignments (``umeyama``, ``landmark_similarity``,
``icp``) never return a reflection. Only ``h3ds_icp`` / ``h3ds_landmark_alignment`` keep the
H3DS toolbox's choices (``trimesh.registration`` with its defaults: scale AND reflection
allowed in ICP), so that numbers computed with them match the toolbox's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Similarity:
    """``dst ≈ scale * R @ src + t``. matrix: (4, 4); residual: RMS distance after alignment."""

    scale: float
    R: np.ndarray
    t: np.ndarray
    residual: float = 0.0
    iterations: int = 0

    @property
    def matrix(self) -> np.ndarray:
        M = np.eye(4)
        M[:3, :3] = self.scale * self.R
        M[:3, 3] = self.t
        return M

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points) @ self.R.T + self.t

    def inverse(self) -> "Similarity":
        """The similarity mapping ``dst`` back onto ``src``."""
        R = self.R.T
        return Similarity(1.0 / self.scale, R, -(R @ self.t) / self.scale, self.residual, self.iterations)


def _points(a, name: str, min_points: int = 1) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or len(a) < min_points:
        raise ValueError(f"{name}: expected an (n>={min_points}, 3) array of points, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: {int((~np.isfinite(a)).any(1).sum())} points have NaN/inf coordinates")
    return a


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True) -> Similarity:
    """Least-squares similarity (no reflection) mapping ``src`` (n, 3) onto ``dst`` (n, 3).

    Umeyama 1991: with centred X, Y and ``U S V^T = svd(Y^T X / n)``, ``R = U D V^T`` where
    ``D = diag(1, 1, sign(det(U V^T)))``, ``s = tr(S D) / var(X)``, ``t = mean(Y) - s R mean(X)``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3 or len(src) < 3:
        raise ValueError(f"umeyama: expected two (n>=3, 3) arrays, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    X, Y = src - mu_s, dst - mu_d
    cov = Y.T @ X / len(src)
    U, S, Vt = np.linalg.svd(cov)
    D = np.ones(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2] = -1.0
    R = U @ np.diag(D) @ Vt
    var = (X**2).sum() / len(src)
    s = float((S * D).sum() / var) if with_scale else 1.0
    t = mu_d - s * R @ mu_s
    res = float(np.sqrt((((s * X @ R.T) - Y) ** 2).sum(1).mean()))
    return Similarity(s, R, t, res)


def landmark_similarity(src: dict[str, np.ndarray], dst: dict[str, np.ndarray],
                        with_scale: bool = True) -> Similarity:
    """Similarity (Umeyama, no reflection) mapping named landmarks ``src`` onto ``dst``.

    Uses the names present in both dicts (at least 3, not all collinear).
    """
    names = sorted(set(src) & set(dst))
    if len(names) < 3:
        raise ValueError(f"landmark_similarity: need >= 3 shared landmarks, got {names}")
    a = _points([src[n] for n in names], "source landmarks", 3)
    b = _points([dst[n] for n in names], "target landmarks", 3)
    if np.linalg.matrix_rank(a - a.mean(0), tol=1e-9 * max(1.0, np.abs(a).max())) < 2:
        raise ValueError(f"landmark_similarity: landmarks {names} are collinear")
    return umeyama(a, b, with_scale)


def icp(src: np.ndarray, dst: np.ndarray, *, with_scale: bool = False, initial: Similarity | None = None,
        max_iterations: int = 50, tolerance: float = 1e-6, max_distance: float | None = None) -> Similarity:
    """ICP (point-to-point) of ``src`` (n, 3) onto the point set ``dst`` (m, 3); never reflects.

    Each iteration pairs every transformed source point with its nearest ``dst`` point
    (scipy cKDTree) and re-solves the whole transform from the ORIGINAL ``src`` with Umeyama
    (rigid, or similarity when ``with_scale``). Pairs further apart than ``max_distance``
    (input units) are ignored. Stops when the RMS pair distance changes by less than
    ``tolerance`` × (its value + 1e-12). ``residual`` is the final RMS pair distance.
    """
    from scipy.spatial import cKDTree

    src = _points(src, "icp source", 3)
    dst = _points(dst, "icp target", 3)
    tree = cKDTree(dst)
    T = initial if initial is not None else Similarity(1.0, np.eye(3), np.zeros(3))
    prev = np.inf
    it = 0
    rms = np.inf
    for it in range(1, max_iterations + 1):
        d, idx = tree.query(T.apply(src), k=1)
        keep = np.ones(len(src), bool) if max_distance is None else d <= max_distance
        if keep.sum() < 3:
            raise ValueError(f"icp: fewer than 3 point pairs within max_distance={max_distance}")
        rms = float(np.sqrt((d[keep] ** 2).mean()))
        if abs(prev - rms) <= tolerance * (rms + 1e-12):
            break
        prev = rms
        T = umeyama(src[keep], dst[idx[keep]], with_scale=with_scale)
    else:
        d, _ = tree.query(T.apply(src), k=1)
        keep = np.ones(len(src), bool) if max_distance is None else d <= max_distance
        rms = float(np.sqrt((d[keep] ** 2).mean()))
    return Similarity(T.scale, T.R, T.t, rms, it)


@dataclass(frozen=True)
class H3DSAlignment:
    """Result of the H3DS toolbox's ICP (``trimesh.registration.icp`` defaults).

    matrix: (4, 4) maps ground-truth points onto the prediction (may contain a reflection);
    scale: ``|det(A)|^(1/3)`` of its linear part; reflected: ``det(A) < 0``;
    cost: trimesh's final cost (mean squared distance of the last Procrustes step).
    """

    matrix: np.ndarray
    scale: float
    reflected: bool
    cost: float

    def apply_inverse(self, points: np.ndarray) -> np.ndarray:
        """Map prediction points into the ground-truth frame (what the toolbox does to the mesh)."""
        M = np.linalg.inv(self.matrix)
        p = np.asarray(points, dtype=np.float64)
        return p @ M[:3, :3].T + M[:3, 3]


def _h3ds_result(M: np.ndarray, cost: float) -> H3DSAlignment:
    det = float(np.linalg.det(M[:3, :3]))
    return H3DSAlignment(np.asarray(M, dtype=np.float64), float(np.cbrt(abs(det))), det < 0, float(cost))


def h3ds_icp(gt_region_vertices: np.ndarray, pred_vertices: np.ndarray) -> H3DSAlignment:
    """The H3DS toolbox's fine alignment, exactly: ``trimesh.registration.icp(gt_region, pred)``
    with trimesh's defaults (20 iterations, threshold 1e-5, Procrustes with scale=True,
    reflection=True). The prediction is then moved by the inverse (``apply_inverse``)."""
    import trimesh

    a = _points(gt_region_vertices, "ground-truth region vertices", 3)
    b = _points(pred_vertices, "predicted vertices", 3)
    M, _, cost = trimesh.registration.icp(a, b)
    return _h3ds_result(M, cost)


def h3ds_landmark_alignment(pred_landmarks: np.ndarray, gt_landmarks: np.ndarray) -> H3DSAlignment:
    """The H3DS toolbox's coarse alignment, exactly: ``trimesh.registration.procrustes(pred, gt,
    reflection=False)`` (scale = ratio of RMS spreads, as trimesh computes it). Its ``matrix``
    maps prediction points onto the ground truth (apply it forwards)."""
    import trimesh

    a = _points(pred_landmarks, "predicted landmarks", 3)
    b = _points(gt_landmarks, "ground-truth landmarks", 3)
    if a.shape != b.shape:
        raise ValueError(f"landmarks: {a.shape} predicted vs {b.shape} ground-truth points")
    M, _, cost = trimesh.registration.procrustes(a, b, reflection=False)
    return _h3ds_result(M, cost)


def rotation_angle_deg(A: np.ndarray, B: np.ndarray) -> float:
    """The angle (degrees) of the rotation taking rotation matrix ``A`` to ``B`` (3×3 each)."""
    return float(np.degrees(np.arccos(np.clip((np.trace(np.asarray(A).T @ np.asarray(B)) - 1) / 2, -1, 1))))


def apply_matrix(M: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(M @ [p, 1])[:3]`` for points (n, 3) and a 4×4 affine ``M``."""
    p = np.asarray(points, dtype=np.float64)
    return p @ M[:3, :3].T + M[:3, 3]
