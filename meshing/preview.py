"""Render a textured mesh from a camera, to check a bake against the field it came from.

- ``camera_rays`` / ``look_at`` (from :mod:`meshing.camera`) — OpenCV pinhole rays and poses.
- :func:`render_textured` — z-buffer the mesh (:func:`meshing.raster.rasterize_mesh`, numpy only), look the
  texture up at the hit's interpolated UV; unlit albedo, so it compares with the radiance field directly.
  ``_raycast`` (Open3D's ``RaycastingScene``) is the reference the rasteriser is tested against.
- :func:`sphere_trace` — the first zero crossing of an SDF callable along rays (the oracle surface).
- :func:`turntable` — shaded albedo from ``views`` azimuths in one image, to look for seams.
"""

from __future__ import annotations

import numpy as np

from meshing.camera import camera_rays, look_at  # noqa: F401  (re-exported: the previews' camera helpers)
from meshing.grid import SDFFn, evaluate
from meshing.raster import rasterize_mesh
from meshing.texture import sample_texture


def _raycast(vertices, faces, origins, dirs):
    try:
        import open3d as o3d
    except ImportError as e:  # pragma: no cover
        raise ImportError("rendering previews needs open3d (pip install open3d-cpu)") from e
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.asarray(vertices, np.float32)),
                        o3d.core.Tensor(np.asarray(faces, np.uint32)))
    rays = o3d.core.Tensor(np.concatenate([origins, dirs], 1).astype(np.float32))
    ans = scene.cast_rays(rays)
    t = ans["t_hit"].numpy()
    prim = ans["primitive_ids"].numpy().astype(np.int64)
    buv = ans["primitive_uvs"].numpy()  # barycentrics of vertices 1 and 2
    hit = np.isfinite(t)
    bary = np.stack([1.0 - buv[:, 0] - buv[:, 1], buv[:, 0], buv[:, 1]], 1)
    return hit, t, np.where(hit, prim, 0), bary


def render_textured(vertices, faces, uv, texture, K, c2w, width, height, shade: bool = False):
    """Albedo image (H, W, 3) float and hit mask (H, W) of a UV-textured mesh seen by an OpenCV camera.
    With ``shade``, multiply by a head-light Lambert term (for looking at it, not for PSNR)."""
    r = rasterize_mesh(vertices, faces, K, c2w, width, height)
    hit = r.hit.ravel()
    tri = np.asarray(faces)[r.face.ravel()[hit]]
    uvs = (uv[tri] * r.bary.reshape(-1, 3)[hit][..., None]).sum(1)
    img = np.zeros((width * height, 3), np.float32)
    img[hit] = sample_texture(texture, uvs)
    if shade:  # head-light Lambert per face: |n · direction from the camera to the face's centre|
        fids, inv = np.unique(r.face.ravel()[hit], return_inverse=True)
        p = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)[fids]]
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        d = p.mean(1) - np.asarray(c2w, dtype=np.float64)[:3, 3]
        lam = np.abs((n * d).sum(1)) / np.maximum(np.linalg.norm(n, axis=1) * np.linalg.norm(d, axis=1), 1e-12)
        img[hit] *= (0.35 + 0.65 * lam[inv])[:, None]
    return img.reshape(height, width, 3), r.hit


def sphere_trace(sdf_fn: SDFFn, origins, dirs, near: float, far: float, steps: int = 128,
                 eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """First surface point along each ray by sphere tracing (assumes a ≤ 1-Lipschitz SDF in the
    rays' frame); returns (points (n, 3), hit (n,))."""
    t = np.full(len(origins), near, dtype=np.float64)
    alive = np.ones(len(origins), bool)
    hit = np.zeros(len(origins), bool)
    for _ in range(steps):
        idx = np.flatnonzero(alive)
        if len(idx) == 0:
            break
        s = evaluate(sdf_fn, origins[idx] + t[idx, None] * dirs[idx]).astype(np.float64)
        done = np.abs(s) < eps
        hit[idx[done]] = True
        t[idx] += np.where(done, 0.0, s)
        alive[idx[done | (t[idx] > far)]] = False
    return origins + t[:, None] * dirs, hit


def turntable(vertices, faces, uv, texture, views: int = 8, size: int = 256, elevation_deg: float = 15.0,
              up=(0.0, 1.0, 0.0), fov_deg: float = 30.0) -> np.ndarray:
    """Shaded textured renders from ``views`` azimuths around ``up`` (through the mesh centre), side by
    side: (size, views·size, 3) float."""
    c = (vertices.min(0) + vertices.max(0)) / 2
    r = np.linalg.norm(vertices - c, axis=1).max()
    dist = r / np.sin(np.radians(fov_deg / 2)) * 1.05
    up = np.asarray(up, dtype=np.float64)
    side = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    fwd = np.cross(side, up)
    f = size / 2 / np.tan(np.radians(fov_deg / 2))
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    tiles = []
    el = np.radians(elevation_deg)
    for k in range(views):
        a = 2 * np.pi * k / views
        direction = np.cos(el) * (np.cos(a) * side + np.sin(a) * fwd) + np.sin(el) * up
        img, _ = render_textured(vertices, faces, uv, texture, K, look_at(c + dist * direction, c, up), size,
                                 size, shade=True)
        tiles.append(img)
    return np.concatenate(tiles, 1)
