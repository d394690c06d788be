"""UV atlas (xatlas) and a texture baked from a colour callable.

Steps: :func:`unwrap` (xatlas on an already decimated mesh — it takes ~40 s per 100k faces here) →
:func:`rasterize_atlas` (each texel → the triangle and barycentrics it covers, plus a one-texel
conservative border projected onto the nearest triangle) → ``color_fn`` at those surface points →
(with photos) :func:`project_photos` and :func:`blend_photo_field` → :func:`dilate` across chart borders
so bilinear filtering and mip-maps do not bleed background into the seams.

Photo texture: see :mod:`meshing.projection`.

UV convention: OBJ/trimesh, origin at the bottom-left (v up); texel row ``r`` of an ``H``-row image
covers ``v ∈ [1 - (r+1)/H, 1 - r/H]``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from meshing.errors import MeshingError
from meshing.extract import ColorFn, query_colors, vertex_normals
from meshing.raster import box_pixels, pixel_barycentrics
from meshing.projection import (ProjectionConfig, PhotoView, blend_photo_field, diffuse_offset,  # noqa: F401
                                 edge_weight_map, project_photos)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextureConfig:
    """Atlas and bake settings."""

    size: int = 2048
    """texture width = height in texels (1024 or 2048)"""
    padding: int = 4
    """texels xatlas keeps between charts"""
    dilate: int = 8
    """texels the colours are grown past the chart borders (clean mip-maps down to level 3); the rest of
    the empty atlas gets the mean colour"""
    chunk: int = 262_144
    """texels per color_fn call"""


@dataclass(frozen=True)
class UVMesh:
    """A mesh split along the atlas seams: one UV per vertex."""

    vertices: np.ndarray
    """(n, 3) float64 positions (the frame of the input mesh)"""
    faces: np.ndarray
    """(m, 3) int64"""
    uv: np.ndarray
    """(n, 2) float64 in [0, 1], OBJ convention (v up)"""
    source: np.ndarray
    """(n,) int64 index of each vertex in the mesh that was unwrapped"""


@dataclass(frozen=True)
class Atlas:
    """Which surface point each texel shows."""

    face: np.ndarray
    """(H, W) int64 face index per texel, -1 where no chart is"""
    bary: np.ndarray
    """(H, W, 3) float32 barycentric coordinates in that face (zeros where face is -1)"""


@dataclass(frozen=True)
class TexturedMesh:
    """A UV-mapped mesh with its baked texture."""

    mesh: UVMesh
    """geometry and UVs"""
    texture: np.ndarray
    """(H, W, 3) uint8 RGB, row 0 at the top (v = 1)"""
    coverage: float
    """fraction of the texture covered by charts"""
    seconds: dict
    """wall time per step: unwrap, rasterize, shade, (photos, blend,) dilate"""
    source: str = "field"
    """"photo" (photos blended with the field) or "field" (the field alone)"""
    photo_weight: np.ndarray | None = None
    """(H, W) float32 photo confidence α per texel (0 off the charts), None for a field bake"""
    photo_fraction: float | None = None
    """mean α over the charted texels (how much of the surface the photos coloured)"""


def unwrap(vertices: np.ndarray, faces: np.ndarray, size: int = 2048, padding: int = 4) -> UVMesh:
    """xatlas charts + packing for a ``size``² texture with ``padding`` texels between charts."""
    import xatlas

    if len(faces) == 0:
        raise MeshingError("cannot unwrap a mesh without faces")
    atlas = xatlas.Atlas()
    atlas.add_mesh(np.ascontiguousarray(vertices, dtype=np.float32), np.ascontiguousarray(faces, dtype=np.uint32))
    pack = xatlas.PackOptions()
    pack.resolution = int(size)
    pack.padding = int(padding)
    pack.bilinear = True
    atlas.generate(xatlas.ChartOptions(), pack)
    vmapping, indices, uvs = atlas[0]
    src = vmapping.astype(np.int64)
    return UVMesh(vertices=np.asarray(vertices, dtype=np.float64)[src], faces=indices.astype(np.int64),
                  uv=uvs.astype(np.float64), source=src)


def rasterize_atlas(uv: np.ndarray, faces: np.ndarray, size: int, border: float = 1.0,
                    chunk: int = 4096) -> Atlas:
    """For each texel centre, the face whose UV triangle contains it and its barycentrics.

    Texels within ``border`` texels outside every triangle (the chart rims that bilinear filtering
    reads) get the nearest triangle, with barycentrics clamped onto it. Vectorised: every triangle's
    bounding box of texels is enumerated, ``chunk`` triangles at a time.
    """
    W = H = int(size)
    p = uv[faces] * np.array([W, H]) # (m, 3, 2) in texels, y up
    p[..., 1] = H - p[..., 1]  # row coordinate, y down
    best = np.full(H * W, np.inf)  # distance outside the triangle, in texels (<= 0 inside)
    face = np.full(H * W, -1, dtype=np.int64)
    bary = np.zeros((H * W, 3), dtype=np.float32)
    for s in range(0, len(faces), chunk):
        t = p[s : s + chunk]  # (c, 3, 2)
        lo = np.floor(t.min(1) - 0.5 - border).astype(np.int64).clip(0, [W - 1, H - 1])  # (c, 2)
        hi = np.ceil(t.max(1) - 0.5 + border).astype(np.int64).clip(0, [W - 1, H - 1])
        tri, x, y = box_pixels(lo, hi)  # every texel of each triangle's box
        lam, area, ok = pixel_barycentrics(t, tri, x, y, 1e-12)  # (k, 3), twice the signed area (k,)
        a, b, d = t[tri, 0], t[tri, 1], t[tri, 2]
        # distance outside, in texels: -λ_i · h_i, h_i = altitude from vertex i = |area| / |opposite edge|
        edges = np.stack([np.linalg.norm(d - b, axis=1), np.linalg.norm(a - d, axis=1),
                          np.linalg.norm(b - a, axis=1)], -1)
        h = np.abs(area)[:, None] / np.maximum(edges, 1e-12)
        dist = (-lam * h).max(1)
        keep = ok & (dist <= border)
        idx = (y * W + x)[keep]
        dist, lam, fid = dist[keep], lam[keep], tri[keep] + s
        # one winner per texel: the smallest distance (inside beats border)
        order = np.lexsort((dist, idx))
        idx, dist, lam, fid = idx[order], dist[order], lam[order], fid[order]
        first = np.r_[True, idx[1:] != idx[:-1]]
        idx, dist, lam, fid = idx[first], dist[first], lam[first], fid[first]
        better = dist < best[idx]
        idx, dist, lam, fid = idx[better], dist[better], lam[better], fid[better]
        lam = lam.clip(0.0, None)
        lam /= lam.sum(1, keepdims=True)
        best[idx], face[idx], bary[idx] = dist, fid, lam
    return Atlas(face=face.reshape(H, W), bary=bary.reshape(H, W, 3))


def dilate(image: np.ndarray, mask: np.ndarray, iterations: int) -> np.ndarray:
    """Grow ``image`` (H, W, C) float from ``mask`` (H, W) bool by ``iterations`` texels (each new texel
    = mean of its covered 3×3 neighbours); texels still empty get the mean covered colour."""
    import cv2

    img = np.where(mask[..., None], image, 0).astype(np.float32)
    m = mask.astype(np.float32)
    for _ in range(iterations):
        if m.all():
            break
        s = cv2.boxFilter(img, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        w = cv2.boxFilter(m, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        grow = (m == 0) & (w > 0)
        img[grow] = s[grow] / w[grow][:, None]
        m[grow] = 1.0
    if not m.all() and m.any():
        img[m == 0] = img[m > 0].mean(0)
    return img


def bake_texture(vertices: np.ndarray, faces: np.ndarray, color_fn: ColorFn,
                 config: TextureConfig = TextureConfig(), normals: np.ndarray | None = None,
                 views=None, projection: ProjectionConfig = ProjectionConfig()) -> TexturedMesh:
    """Unwrap the mesh (unit-sphere frame), then colour each texel with ``color_fn`` at its surface point
    and interpolated normal; with ``views`` (a sequence of :class:`PhotoView`, cameras in the same frame)
    project the photos where they see the texel and blend them with the field (:func:`project_photos`,
    :func:`blend_photo_field`); dilate across the chart borders."""
    times = {}
    t0 = time.perf_counter()
    if normals is None:
        normals = vertex_normals(vertices, faces)
    uvm = unwrap(vertices, faces, config.size, config.padding)
    t1 = time.perf_counter()
    atlas = rasterize_atlas(uvm.uv, uvm.faces, config.size)
    t2 = time.perf_counter()
    covered = atlas.face >= 0
    fid = atlas.face[covered]
    lam = atlas.bary[covered].astype(np.float64)[..., None]  # (k, 3, 1)
    tri = uvm.faces[fid]  # (k, 3)
    pts = (uvm.vertices[tri] * lam).sum(1)
    nrm = (normals[uvm.source][tri] * lam).sum(1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    rgb = np.zeros((config.size, config.size, 3), dtype=np.float32)
    rgb[covered] = query_colors(color_fn, pts, nrm, config.chunk)
    t3 = time.perf_counter()
    times.update(unwrap=t1 - t0, rasterize=t2 - t1, shade=t3 - t2)
    source, weight, fraction = "field", None, None
    views = list(views or [])
    if views:
        photo, alpha = project_photos(pts, nrm, vertices, faces, views, projection)
        t4 = time.perf_counter()
        rgb[covered] = blend_photo_field(rgb[covered], photo, alpha, vertices, faces, uvm.source[tri], lam[..., 0],
                                         projection)
        weight = np.zeros(covered.shape, np.float32)
        weight[covered] = alpha
        source, fraction = "photo", float(alpha.mean()) if len(alpha) else 0.0
        t5 = time.perf_counter()
        times.update(photos=t4 - t3, blend=t5 - t4)
    t = time.perf_counter()
    img = dilate(rgb, covered, config.dilate)
    times["dilate"] = time.perf_counter() - t
    log.info("texture: %d faces, %d² texels, %.0f%% covered, %s%s", len(uvm.faces), config.size,
             100 * covered.mean(), ", ".join(f"{k} {v:.1f} s" for k, v in times.items()),
             "" if fraction is None else f"; photos colour {100 * fraction:.0f}% of the surface")
    return TexturedMesh(mesh=uvm, texture=(img.clip(0, 1) * 255 + 0.5).astype(np.uint8),
                        coverage=float(covered.mean()), seconds=times, source=source, photo_weight=weight,
                        photo_fraction=fraction)


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``texture`` (H, W, 3) uint8 at ``uv`` (n, 2) (OBJ convention); float (n, 3) in [0, 1]."""
    H, W = texture.shape[:2]
    x = uv[:, 0] * W - 0.5
    y = (1.0 - uv[:, 1]) * H - 0.5
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    tex = texture.astype(np.float32) / 255.0

    def at(yy, xx):
        return tex[yy.clip(0, H - 1), xx.clip(0, W - 1)]

    return ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
            + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
