"""Texture from the photos: each texel's surface point projected into the input photos.

Photo texture: each texel's surface point is projected into every input photo (:class:`PhotoView`, cameras
in the mesh's frame). A photo counts where the point is visible (depth test against the mesh's own z-buffer,
:func:`meshing.raster.rasterize_mesh`), weighted by the view-angle cosine and by a falloff within
``edge_px`` pixels of the mesh silhouette, the photo's mask edge and depth discontinuities (a distance
transform in image space), so weights reach 0 smoothly before any edge. The photo confidence
``α = min(1, Σ_i w_i)`` blends the photo colour with the field's: ``α·photo + (1-α)·(field + δ)``, where
``δ`` is the low-frequency photo−field offset diffused over the mesh (a screened Laplace solve on its
vertices: seam-free, since it lives on the surface, not in the atlas), so no band shows at the boundary;
far from every photo ``δ → 0`` and the texture is the field's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshing.errors import MeshingError
from meshing.raster import project, rasterize_mesh


@dataclass(frozen=True)
class ProjectionConfig:
    """How input photos are projected onto the mesh and blended with the field's colours."""

    min_cos: float = 0.1
    """view-angle cosine (normal · direction to the camera) at and below which a photo contributes nothing"""
    full_cos: float = 0.35
    """cosine from which a photo is fully trusted (its confidence ramps smoothly from min_cos to here)"""
    edge_px: float = 3.0
    """weights rise from 0 to 1 over this many pixels from a silhouette, mask edge or occlusion edge"""
    depth_jump: float = 0.03
    """relative depth step between neighbouring pixels that counts as an occlusion edge"""
    depth_tolerance: float = 0.01
    """relative depth slack of the visibility test (z ≤ (1 + tol) · max z-buffer depth in the 3×3 pixels)"""
    mask_threshold: float = 0.5
    """mask value above which a pixel is foreground"""
    view_power: float = 4.0
    """colour weight of a photo = confidence · cos ** view_power (the most frontal photo dominates: no ghosting)"""
    offset_smooth: float = 4.0
    """λ of the photo−field colour offset solve (Laplacian weight; larger = smoother offset)"""
    offset_length: float = 0.15
    """distance (mesh frame; 0.15 ≈ 30 mm in the canonical head frame) over which that offset fades away from
    the photographed region; 0: no offset (the unseen texels are the field's exactly)"""


@dataclass(frozen=True)
class PhotoView:
    """One input photo and its camera in the mesh's frame (OpenCV pinhole, ``p = c2w @ p_cam``)."""

    image: np.ndarray
    """(H, W, 3) float RGB in [0, 1]"""
    K: np.ndarray
    """(3, 3) intrinsics in pixels of this image"""
    c2w: np.ndarray
    """(4, 4) camera-to-world"""
    mask: np.ndarray | None = None
    """(H, W) foreground in [0, 1] (white = the object), or None"""


def edge_weight_map(raster_hit: np.ndarray, depth: np.ndarray, mask: np.ndarray | None,
                    config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """(H, W) float32 weight in [0, 1]: 0 off the mesh, off the mask and on edges, rising smoothly
    (smoothstep of the distance transform) to 1 at ``edge_px`` pixels from the nearest edge.

    Edges: pixels whose 4-neighbourhood mixes hit and miss (silhouette), foreground and background of the
    mask, or hit depths differing by more than ``depth_jump`` relative (occlusion); the image border too.
    """
    import cv2

    hit = np.asarray(raster_hit, bool)
    fg = hit if mask is None else hit & (np.asarray(mask) > config.mask_threshold)
    H, W = hit.shape
    edge = np.zeros((H + 2, W + 2), bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    core = edge[1:-1, 1:-1]
    z = np.where(hit, depth, 0.0)
    every = slice(None)
    for sa, sb in (((slice(None, -1), every), (slice(1, None), every)),   # vertical neighbours
                   ((every, slice(None, -1)), (every, slice(1, None)))):  # horizontal neighbours
        e = fg[sa] != fg[sb]
        e |= hit[sa] & hit[sb] & (np.abs(z[sa] - z[sb]) > config.depth_jump * np.minimum(z[sa], z[sb]))
        core[sa] |= e
        core[sb] |= e
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    t = np.clip(dist / max(config.edge_px, 1e-6), 0.0, 1.0)
    return np.where(fg, t * t * (3 - 2 * t), 0.0).astype(np.float32)


def _bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (H, W[, C]) at pixel coordinates ``uv`` (n, 2), centres at +0.5; 0 outside."""
    H, W = image.shape[:2]
    pad = np.pad(np.asarray(image, dtype=np.float32), [(1, 1), (1, 1)] + [(0, 0)] * (image.ndim - 2))
    x = uv[:, 0] - 0.5 + 1.0  # coordinates in the zero-padded image
    y = uv[:, 1] - 0.5 + 1.0
    x0 = np.floor(x).astype(np.int64).clip(0, W)
    y0 = np.floor(y).astype(np.int64).clip(0, H)
    fx, fy = (x - x0).clip(0, 1), (y - y0).clip(0, 1)
    if image.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    return ((1 - fy) * ((1 - fx) * pad[y0, x0] + fx * pad[y0, x0 + 1])
            + fy * ((1 - fx) * pad[y0 + 1, x0] + fx * pad[y0 + 1, x0 + 1])).astype(np.float32)


def project_photos(points: np.ndarray, normals: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                   views, config: ProjectionConfig = ProjectionConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Photo colour and confidence at surface points of the mesh (``vertices``, ``faces``).

    points, normals: (k, 3) surface points and unit outward normals (the mesh's frame); views: a sequence
    of :class:`PhotoView`. Per view i the confidence is ``a_i = visible · ramp(cos) · edge weight`` (ramp: a
    smoothstep from ``min_cos`` to ``full_cos``; edge weight: :func:`edge_weight_map`, bilinear at the
    projection); colour = ``Σ a_i cos_i^p c_i / Σ a_i cos_i^p`` (p = ``view_power``). Returns (rgb (k, 3)
    float32, α = 1 − Π(1 − a_i) (k,) float32); points no photo sees get α = 0 and rgb 0.
    """
    from scipy.ndimage import maximum_filter

    points = np.asarray(points, dtype=np.float64)
    normals = np.asarray(normals, dtype=np.float64)
    acc = np.zeros((len(points), 3))
    miss = np.ones(len(points))  # Π (1 - a_i)
    psum = np.zeros(len(points))
    for view in views:
        img = np.asarray(view.image, dtype=np.float32)
        if img.ndim != 3 or img.shape[2] != 3:
            raise MeshingError(f"photo must be (H, W, 3), got {img.shape}")
        H, W = img.shape[:2]
        if view.mask is not None and np.shape(view.mask) != (H, W):
            raise MeshingError(f"photo mask must be {(H, W)}, got {np.shape(view.mask)}")
        r = rasterize_mesh(vertices, faces, view.K, view.c2w, W, H)
        ew = edge_weight_map(r.hit, r.depth, view.mask, config)
        uv, z = project(points, view.K, view.c2w)
        inside = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
        idx = np.flatnonzero(inside)
        if len(idx) == 0:
            continue
        zmax = maximum_filter(np.where(r.hit, r.depth, np.inf), size=3, mode="nearest")
        px = uv[idx].astype(np.int64)
        visible = z[idx] <= (1.0 + config.depth_tolerance) * zmax[px[:, 1].clip(0, H - 1), px[:, 0].clip(0, W - 1)]
        to_cam = np.asarray(view.c2w, dtype=np.float64)[:3, 3] - points[idx]
        cos = (normals[idx] * to_cam).sum(1) / np.maximum(np.linalg.norm(to_cam, axis=1), 1e-12)
        t = np.clip((cos - config.min_cos) / max(config.full_cos - config.min_cos, 1e-6), 0.0, 1.0)
        a = visible * (t * t * (3 - 2 * t)) * _bilinear(ew, uv[idx]).clip(0.0, 1.0)
        sel = a > 0
        idx, a, cos = idx[sel], a[sel], cos[sel]
        if len(idx) == 0:
            continue
        wp = a * cos ** config.view_power
        acc[idx] += wp[:, None] * _bilinear(img, uv[idx])
        psum[idx] += wp
        miss[idx] *= 1.0 - a
    rgb = np.where(psum[:, None] > 0, acc / np.maximum(psum, 1e-30)[:, None], 0.0)
    return rgb.clip(0, 1).astype(np.float32), (1.0 - miss).astype(np.float32)


def diffuse_offset(vertices: np.ndarray, faces: np.ndarray, tri: np.ndarray, bary: np.ndarray, alpha: np.ndarray,
                   diff: np.ndarray, smooth: float, length: float) -> np.ndarray:
    """Per-vertex colour offset (n_vertices, 3) from per-sample offsets ``diff`` (k, 3) at samples with
    vertices ``tri`` (k, 3), barycentrics ``bary`` (k, 3) and confidence ``alpha`` (k,).

    Solves ``(C + λ L + μ I) δ = C t`` on the mesh graph (L = D − A of the edges in ``faces``), with
    ``C = diag(c_v)``, ``c_v = Σ α b / Σ b`` and ``t_v = Σ α b diff / Σ α b`` over the samples touching v,
    ``μ = λ (h / length)²`` with h the mean edge length: ``δ`` follows the photographed offset where α is
    high and fades smoothly elsewhere, over about ``length`` (√(λ/μ) edges).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n = len(vertices)
    b = np.asarray(bary, dtype=np.float64)
    ab = b * np.asarray(alpha, dtype=np.float64)[:, None]
    flat = np.asarray(tri, dtype=np.int64).ravel()
    den = np.bincount(flat, b.ravel(), n)
    cnum = np.bincount(flat, ab.ravel(), n)
    c = np.where(den > 0, cnum / np.maximum(den, 1e-30), 0.0)
    rhs = np.stack([np.bincount(flat, (ab * diff[:, k : k + 1]).ravel(), n) for k in range(3)], 1)
    rhs = np.where(cnum[:, None] > 0, rhs / np.maximum(cnum, 1e-30)[:, None], 0.0) * c[:, None]
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    A = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    A = ((A + A.T) > 0).astype(np.float64)
    L = sp.diags(np.asarray(A.sum(1)).ravel()) - A
    h = float(np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1).mean())
    M = (sp.diags(c + smooth * (h / length) ** 2) + smooth * L).tocsc()
    return np.asarray(spsolve(M, rhs)).reshape(n, 3)


def blend_photo_field(field: np.ndarray, photo: np.ndarray, alpha: np.ndarray, vertices: np.ndarray,
                      faces: np.ndarray, tri: np.ndarray, bary: np.ndarray,
                      config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """``α·photo + (1-α)·(field + δ)`` at samples (k,) given by mesh vertices ``tri`` (k, 3) and ``bary``;
    δ = :func:`diffuse_offset` of ``photo − field`` (none when ``offset_length`` is 0 or α is 0 everywhere)."""
    a = np.asarray(alpha, dtype=np.float64)[:, None]
    fill = np.asarray(field, dtype=np.float64)
    if config.offset_length > 0 and np.any(a > 0):
        delta = diffuse_offset(vertices, faces, tri, bary, a[:, 0], photo - fill, config.offset_smooth,
                               config.offset_length)
        fill = fill + (delta[tri] * np.asarray(bary, dtype=np.float64)[..., None]).sum(1)
    return (a * photo + (1.0 - a) * fill).clip(0, 1).astype(np.float32)
