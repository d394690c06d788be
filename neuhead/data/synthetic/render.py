"""Ray-cast renderer for synthetic heads (Open3D ``RaycastingScene``).

Cameras follow ``neuhead.cameras`` (OpenCV, pixel centres at +0.5). Per view: one ray through each
pixel centre gives the exact depth (z in the camera frame, 0 on a miss) and the hard hit mask; an
``ss``×``ss`` grid of sub-pixel rays gives the anti-aliased colour and the soft mask (coverage).
Colour = shaded albedo over a background, composited with the coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuhead.cameras import Cameras


@dataclass(frozen=True)
class RenderConfig:
    """How synthetic views are rendered."""

    supersample: int = 2
    """sub-pixel rays per pixel side for colour and mask (1 = pixel centre only)"""
    shadows: bool = True
    """cast a shadow ray towards the light"""
    shadow_offset_mm: float = 0.3
    """shadow-ray origin offset along the normal"""
    threads: int = 0
    """Open3D threads (0 = all cores)"""


@dataclass
class Rendered:
    """images: (n, H, W, 3) float32 sRGB; masks: (n, H, W) float32 coverage in [0, 1];
    depth: (n, H, W) float32 camera-z at pixel centres (0 = background); hit: (n, H, W) bool."""

    images: np.ndarray
    masks: np.ndarray
    depth: np.ndarray
    hit: np.ndarray


def camera_rays(K: np.ndarray, c2w: np.ndarray, width: int, height: int, offsets: np.ndarray) -> np.ndarray:
    """Rays (len(offsets), H, W, 6) [origin, unit direction] for sub-pixel ``offsets`` (m, 2) in [0, 1)."""
    u = np.arange(width)[None, None, :] + offsets[:, 0, None, None]  # (m, 1, W)
    v = np.arange(height)[None, :, None] + offsets[:, 1, None, None]  # (m, H, 1)
    u, v = np.broadcast_arrays(u, v)
    y = (v - K[1, 2]) / K[1, 1]
    x = (u - K[0, 2] - K[0, 1] * y) / K[0, 0]
    d = np.stack([x, y, np.ones_like(x)], -1) @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    o = np.broadcast_to(c2w[:3, 3], d.shape)
    return np.concatenate([o, d], -1)


class HeadRenderer:
    """Holds one mesh in a ray-casting scene; ``render(cameras)`` shades it with a shading callback.

    ``shade_fn(tri, bary, points, normals, lit) -> (m, 3)`` gets hit triangle ids (m,), barycentric
    weights (m, 3), hit points and interpolated unit normals (m, 3) and the shadow test (m,).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, vertex_normals: np.ndarray,
                 config: RenderConfig = RenderConfig()):
        import open3d as o3d

        self._o3d = o3d
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.normals = np.asarray(vertex_normals, dtype=np.float64)
        self.config = config
        self.scene = o3d.t.geometry.RaycastingScene()
        self.scene.add_triangles(o3d.core.Tensor(self.vertices.astype(np.float32)),
                                 o3d.core.Tensor(self.faces.astype(np.uint32)))

    def cast(self, rays: np.ndarray) -> dict[str, np.ndarray]:
        o3d = self._o3d
        r = self.scene.cast_rays(o3d.core.Tensor(np.ascontiguousarray(rays, dtype=np.float32)), nthreads=self.config.threads)
        return {"t": r["t_hit"].numpy(), "tri": r["primitive_ids"].numpy(), "uv": r["primitive_uvs"].numpy()}

    def occluded(self, rays: np.ndarray) -> np.ndarray:
        o3d = self._o3d
        return self.scene.test_occlusions(o3d.core.Tensor(np.ascontiguousarray(rays, dtype=np.float32)),
                                          nthreads=self.config.threads).numpy().astype(bool)

    def render(self, cameras: Cameras, shade_fn, light_dir: np.ndarray, background: np.ndarray) -> Rendered:
        """Render every camera. background: (H, W, 3) sRGB."""
        n, H, W = len(cameras), cameras.height, cameras.width
        ss = max(1, int(self.config.supersample))
        offsets = (np.stack(np.meshgrid(np.arange(ss), np.arange(ss)), -1).reshape(-1, 2) + 0.5) / ss
        images = np.empty((n, H, W, 3), np.float32)
        masks = np.empty((n, H, W), np.float32)
        depth = np.zeros((n, H, W), np.float32)
        hits = np.zeros((n, H, W), bool)
        for i in range(n):
            K, c2w = cameras.K[i], cameras.c2w[i]
            centre = camera_rays(K, c2w, W, H, np.array([[0.5, 0.5]]))[0]  # (H, W, 6)
            rc = self.cast(centre)
            hit = np.isfinite(rc["t"])
            z_cam = centre[..., 3:] @ c2w[:3, 2]  # cos between ray and optical axis
            depth[i][hit] = (rc["t"] * z_cam)[hit]
            hits[i] = hit
            rays = centre[None] if ss == 1 else camera_rays(K, c2w, W, H, offsets)  # (m, H, W, 6)
            r = rc if ss == 1 else self.cast(rays)
            t, tri, uv = r["t"].reshape(-1), r["tri"].reshape(-1), r["uv"].reshape(-1, 2)
            rr = rays.reshape(-1, 6)
            sel = np.flatnonzero(np.isfinite(t))
            col = np.zeros((len(t), 3))
            if len(sel):
                tri_s = tri[sel].astype(np.int64)
                bary = np.stack([1 - uv[sel, 0] - uv[sel, 1], uv[sel, 0], uv[sel, 1]], 1)
                pts = rr[sel, :3] + rr[sel, 3:] * t[sel, None]
                f = self.faces[tri_s]
                nrm = np.einsum("mk,mkd->md", bary, self.normals[f])
                nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
                lit = np.ones(len(sel))
                if self.config.shadows:
                    sr = np.concatenate([pts + nrm * self.config.shadow_offset_mm,
                                         np.broadcast_to(light_dir, pts.shape)], 1)
                    lit = (~self.occluded(sr)).astype(np.float64)
                col[sel] = shade_fn(tri_s, bary, pts, nrm, lit)
            cov = np.isfinite(t).reshape(len(rays), H, W).astype(np.float64)
            col = col.reshape(len(rays), H, W, 3)
            fg = col.sum(0)  # premultiplied by coverage
            a = cov.mean(0)
            images[i] = (fg / len(rays) + (1 - a)[..., None] * background).astype(np.float32)
            masks[i] = a
        return Rendered(images, masks, depth, hits)
