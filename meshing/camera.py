"""Pinhole camera helpers shared by every package (the lowest one that needs them): OpenCV convention
(x right, y down, z forward), ``c2w`` 4x4 camera-to-world, pixel centres at +0.5."""

from __future__ import annotations

import numpy as np


def camera_rays(K: np.ndarray, c2w: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Origins and unit directions (H·W, 3) of the rays through the pixel centres, row-major."""
    v, u = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    pix = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1)
    d = pix @ np.linalg.inv(K).T @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.broadcast_to(c2w[:3, 3], d.shape).copy(), d


def look_at(eye, target=(0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """c2w (4, 4) of an OpenCV camera at ``eye`` looking at ``target`` with world ``up`` roughly up
    in the image (image y points down, so camera y = -up)."""
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(-np.asarray(up, dtype=np.float64), z)
    if np.linalg.norm(x) < 1e-8:  # looking along up
        x = np.cross(np.array([0.0, 0.0, -1.0]), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w
