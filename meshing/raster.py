"""A numpy z-buffer rasteriser: which triangle each pixel of a pinhole camera sees.

:func:`rasterize_mesh` projects the mesh with an OpenCV camera (``p_world = c2w @ p_cam``, x right, y down,
z forward, pixel (c, r) centred at (c + 0.5, r + 0.5)) and keeps, per pixel centre, the nearest covering
triangle with perspective-correct barycentrics. Vectorised like :func:`meshing.texture.rasterize_atlas`:
every triangle's bounding box of pixels is enumerated, ``chunk`` triangles at a time. No dependency beyond
numpy; ``tests/meshing/test_raster.py`` compares it with Open3D's ray caster (the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeshRaster:
    """What each pixel sees."""

    face: np.ndarray
    """(H, W) int64 nearest face, -1 where the mesh is not hit"""
    bary: np.ndarray
    """(H, W, 3) float64 perspective-correct barycentrics in that face (zeros on a miss)"""
    depth: np.ndarray
    """(H, W) float64 camera-frame z of the hit (+inf on a miss)"""

    @property
    def hit(self) -> np.ndarray:
        return self.face >= 0


def project(points: np.ndarray, K: np.ndarray, c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (n, 2) (centres at +0.5) and camera z (n,) of world points (n, 3)."""
    w2c = np.linalg.inv(np.asarray(c2w, dtype=np.float64))
    pc = np.asarray(points, dtype=np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
    z = pc[:, 2]
    uvw = pc @ np.asarray(K, dtype=np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = uvw[:, :2] / z[:, None]
    return uv, z


def rasterize_mesh(vertices: np.ndarray, faces: np.ndarray, K: np.ndarray, c2w: np.ndarray, width: int,
                   height: int, near: float = 1e-6, chunk: int = 8192) -> MeshRaster:
    """Z-buffer the triangles (both sides) seen by the camera; triangles with a vertex behind ``near`` are skipped."""
    W, H = int(width), int(height)
    faces = np.asarray(faces, dtype=np.int64)
    uv, z = project(vertices, K, c2w)
    best = np.full(H * W, np.inf)
    face = np.full(H * W, -1, dtype=np.int64)
    bary = np.zeros((H * W, 3))
    zf = z[faces]  # (m, 3)
    keep = np.flatnonzero((zf > near).all(1) & np.isfinite(uv[faces]).all((1, 2)))
    for s in range(0, len(keep), chunk):
        ids = keep[s : s + chunk]
        t = uv[faces[ids]]  # (c, 3, 2) pixel coordinates
        lo = np.floor(t.min(1) - 0.5).astype(np.int64)
        hi = np.ceil(t.max(1) - 0.5).astype(np.int64)
        inside = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] <= W - 1) & (lo[:, 1] <= H - 1)
        ids, t, lo, hi = ids[inside], t[inside], lo[inside].clip(0, [W - 1, H - 1]), hi[inside].clip(0, [W - 1, H - 1])
        tri, x, y = box_pixels(lo, hi)
        lam, _, ok = pixel_barycentrics(t, tri, x, y, 1e-14)  # screen-space barycentrics (k, 3)
        ok &= (lam >= -1e-9).all(1)
        fid = ids[tri[ok]]
        lam = lam[ok]
        inv_z = lam / zf[fid]  # perspective correction: λ_i / z_i, normalised
        depth = 1.0 / inv_z.sum(1)
        lam = inv_z * depth[:, None]
        idx = (y * W + x)[ok]
        if not len(idx):  # no pixel centre on any of this chunk's triangles (off screen, or all sub-pixel)
            continue
        order = np.lexsort((depth, idx))
        idx, depth, lam, fid = idx[order], depth[order], lam[order], fid[order]
        first = np.r_[True, idx[1:] != idx[:-1]]
        idx, depth, lam, fid = idx[first], depth[first], lam[first], fid[first]
        better = depth < best[idx]
        idx = idx[better]
        best[idx], face[idx], bary[idx] = depth[better], fid[better], lam[better]
    return MeshRaster(face=face.reshape(H, W), bary=bary.reshape(H, W, 3), depth=best.reshape(H, W))


def box_pixels(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pixel of each triangle's inclusive bounding box ``[lo, hi]`` ((c, 2) ints): (triangle (k,),
    x (k,), y (k,)). Shared by the mesh z-buffer and the UV-atlas rasteriser."""
    wh = hi - lo + 1
    counts = wh[:, 0] * wh[:, 1]
    tri = np.repeat(np.arange(len(lo)), counts)  # (k,) local triangle of each candidate pixel
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return tri, lo[tri, 0] + local % wh[tri, 0], lo[tri, 1] + local // wh[tri, 0]


def pixel_barycentrics(t: np.ndarray, tri: np.ndarray, x: np.ndarray, y: np.ndarray,
                       eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Barycentrics (k, 3) of the pixel centres (x + 0.5, y + 0.5) in the 2D triangles ``t[tri]`` ((c, 3, 2));
    also twice the signed area (k,) (1 where degenerate) and the non-degenerate mask (|2·area| > ``eps``)."""
    c = np.stack([x + 0.5, y + 0.5], -1)
    a, b, d = t[tri, 0], t[tri, 1], t[tri, 2]
    area = _cross(b - a, d - a)
    ok = np.abs(area) > eps
    area = np.where(ok, area, 1.0)
    l0 = _cross(b - c, d - c) / area
    l1 = _cross(d - c, a - c) / area
    return np.stack([l0, l1, 1.0 - l0 - l1], -1), area, ok


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
