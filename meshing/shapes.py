"""Analytic SDFs and colours for tests and benchmarks (exact oracles for the meshing code)."""

from __future__ import annotations

import numpy as np


def sphere_sdf(radius: float = 0.5, center=(0.0, 0.0, 0.0)):
    """``sdf_fn`` of a sphere (exact SDF)."""
    c = np.asarray(center, dtype=np.float32)

    def sdf(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm(p - c, axis=1) - np.float32(radius)

    return sdf


def torus_sdf(major: float = 0.5, minor: float = 0.2):
    """``sdf_fn`` of a torus around the y axis (exact SDF)."""

    def sdf(p: np.ndarray) -> np.ndarray:
        q = np.stack([np.linalg.norm(p[:, [0, 2]], axis=1) - np.float32(major), p[:, 1]], 1)
        return np.linalg.norm(q, axis=1) - np.float32(minor)

    return sdf


def position_color(points: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
    """A smooth colour defined by position: RGB = 0.5 + 0.45·sin(3·(x, y, z) + phase), in [0, 1]."""
    p = np.asarray(points, dtype=np.float32)
    return (0.5 + 0.45 * np.sin(3.0 * p + np.array([0.0, 2.0, 4.0], dtype=np.float32))).astype(np.float32)
