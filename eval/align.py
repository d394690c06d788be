"""Alignment of point sets: landmark similarity (Umeyama), ICP. No imports from neuhead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
