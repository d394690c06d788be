"""UV atlas (xatlas) and a texture baked from a colour callable.

Steps: :func:`unwrap` (xatlas on an already decimated mesh — it takes ~40 s per 100k faces here) →
:func:`rasterize_atlas` (each texel → the triangle and barycentrics it covers, plus a one-texel
conservative border projected onto the nearest triangle) → ``color_fn`` at those surface points →
(with photos) :func:`project_photos` and :func:`blend_photo_field` → :func:`dilate` across chart borders
so bilinear filtering and mip-maps do not bleed background into the seams.

Photo texture: each texel's surface point is projected into every input photo (:class:`PhotoView`, cameras
in the mesh's frame). A photo counts where the point is visible (depth test against the mesh's own z-buffer,
:func:`meshing.raster.rasterize_mesh`), weighted by the view-angle cosine and by a falloff within
``edge_px`` pixels of the mesh silhouette, the photo's mask edge and depth discontinuities (a distance
transform in image space), so weights reach 0 smoothly before any edge. The photo confidence
``α = min(1, Σ_i w_i)`` blends the photo colour with the field's: ``α·photo + (1-α)·(field + δ)``, where
``δ`` is the low-frequency photo−field offset diffused over the mesh (a screened Laplace solve on its
vertices: seam-free, since it lives on the surface, not in the atlas), so no band shows at the boundary;
far from every photo ``δ → 0`` and the texture is the field's.

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
from meshing.raster import project, rasterize_mesh

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
        wh = hi - lo + 1
        counts = wh[:, 0] * wh[:, 1]
        tri = np.repeat(np.arange(len(t)), counts)  # (k,) local triangle of each candidate texel
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        x = lo[tri, 0] + local % wh[tri, 0]
        y = lo[tri, 1] + local // wh[tri, 0]
        c = np.stack([x + 0.5, y + 0.5], -1)  # texel centres (k, 2)
        a, b, d = t[tri, 0], t[tri, 1], t[tri, 2]
        area = _cross(b - a, d - a)  # twice the signed area (k,)
        ok = np.abs(area) > 1e-12
        area = np.where(ok, area, 1.0)
        l0 = _cross(b - c, d - c) / area
        l1 = _cross(d - c, a - c) / area
        l2 = 1.0 - l0 - l1
        lam = np.stack([l0, l1, l2], -1)  # (k, 3)
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


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


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
