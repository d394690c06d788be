"""Ray-cast renderer for synthetic heads (Open3D ``RaycastingScene``).

Cameras follow ``neuhead.cameras`` (OpenCV, pixel centres at +0.5). Per view: one ray through each
pixel centre gives the exact depth (z in the camera frame, 0 on a miss), the hard hit mask and the
shaded colour; an ``ss``×``ss`` grid of sub-pixel rays gives the coverage (the soft mask), which
blends the colour with the background (coverage anti-aliasing of the silhouette).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuhead.cameras import Cameras


@dataclass(frozen=True)
class SynthRenderConfig:
    """How synthetic views are rendered."""

    supersample: int = 2
    """sub-pixel rays per pixel side for the coverage (soft mask, silhouette blending); 1 = hard edges"""
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


def subpixel_rays(K: np.ndarray, c2w: np.ndarray, width: int, height: int, offsets: np.ndarray) -> np.ndarray:
    """Rays (len(offsets), H, W, 6) float32 [origin, direction] for sub-pixel ``offsets`` (m, 2) in [0, 1).

    Directions are ``R K^-1 (u, v, 1)``: *not* unit length but with unit camera-z component, so a
    hit distance along them is the pixel's depth (camera z).
    """
    u = (np.arange(width)[None, None, :] + offsets[:, 0, None, None]).astype(np.float32)  # (m, 1, W)
    v = (np.arange(height)[None, :, None] + offsets[:, 1, None, None]).astype(np.float32)  # (m, H, 1)
    y = (v - K[1, 2]) / K[1, 1]
    x = (u - K[0, 2] - K[0, 1] * y) / K[0, 0]
    x, y = np.broadcast_arrays(x, y)
    R = c2w[:3, :3].astype(np.float32)
    out = np.empty(x.shape + (6,), np.float32)
    out[..., :3] = c2w[:3, 3]
    out[..., 3:] = x[..., None] * R[:, 0] + y[..., None] * R[:, 1] + R[:, 2]
    return out


class HeadRenderer:
    """Holds one mesh in a ray-casting scene; ``render(cameras)`` shades it with a shading callback.

    ``shade_fn(tri, bary, points, normals, lit) -> (m, 3)`` gets hit triangle ids (m,), barycentric
    weights (m, 3), hit points and interpolated unit normals (m, 3) and the shadow test (m,).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, vertex_normals: np.ndarray,
                 config: SynthRenderConfig = SynthRenderConfig()):
        try:
            import open3d as o3d
        except ImportError as e:
            raise ImportError("rendering synthetic heads needs Open3D: pip install 'neuhead[synth]' "
                              f"(open3d-cpu; on Debian also apt-get install libusb-1.0-0) ({e})") from e

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

    def _shade_hits(self, rays: np.ndarray, t: np.ndarray, tri: np.ndarray, uv: np.ndarray, shade_fn,
                    light_dir: np.ndarray) -> np.ndarray:
        """Colours (m, 3) of m hitting rays (m, 6) with hit distance, triangle and barycentric uv."""
        tri = tri.astype(np.int64)
        bary = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], 1)
        pts = rays[:, :3].astype(np.float64) + rays[:, 3:] * t[:, None].astype(np.float64)
        nrm = (bary[:, :, None] * self.normals[self.faces[tri]]).sum(1)
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        lit = np.ones(len(t))
        if self.config.shadows:
            sr = np.concatenate([pts + nrm * self.config.shadow_offset_mm, np.broadcast_to(light_dir, pts.shape)], 1)
            lit = (~self.occluded(sr)).astype(np.float64)
        return shade_fn(tri, bary, pts, nrm, lit)

    def render(self, cameras: Cameras, shade_fn, light_dir: np.ndarray, background: np.ndarray) -> Rendered:
        """Render every camera. background: (H, W, 3) sRGB.

        Colour is shaded once per pixel (at the pixel centre, or at the first covering sub-pixel
        ray where the centre misses); the ``ss``² sub-pixel rays give the coverage that blends it
        with the background and that is the soft mask.
        """
        n, H, W = len(cameras), cameras.height, cameras.width
        ss = max(1, int(self.config.supersample))
        offsets = (np.stack(np.meshgrid(np.arange(ss), np.arange(ss)), -1).reshape(-1, 2) + 0.5) / ss
        images = np.empty((n, H, W, 3), np.float32)
        masks = np.empty((n, H, W), np.float32)
        depth = np.zeros((n, H, W), np.float32)
        hits = np.zeros((n, H, W), bool)
        for i in range(n):
            K, c2w = cameras.K[i], cameras.c2w[i]
            centre = subpixel_rays(K, c2w, W, H, np.array([[0.5, 0.5]]))[0].reshape(-1, 6)  # (H*W, 6)
            rc = self.cast(centre)
            hit = np.isfinite(rc["t"])
            depth[i].reshape(-1)[hit] = rc["t"][hit]  # directions have unit camera z: t is the depth
            hits[i] = hit.reshape(H, W)
            if ss == 1:
                cov = hit.astype(np.float64)
                src_rays, src_t, src_tri, src_uv = centre, rc["t"], rc["tri"], rc["uv"]
                shade_idx = np.flatnonzero(hit)
            else:
                rays = subpixel_rays(K, c2w, W, H, offsets).reshape(len(offsets), -1, 6)  # (m, H*W, 6)
                r = self.cast(rays)
                sub_hit = np.isfinite(r["t"])  # (m, H*W)
                cov = sub_hit.mean(0)
                # where the centre misses but a sub-pixel ray hits, shade the first such ray
                first = np.argmax(sub_hit, axis=0)
                edge = ~hit & sub_hit.any(0)
                pix = np.arange(H * W)
                src_rays = np.where(edge[:, None], rays[first, pix], centre)
                src_t = np.where(edge, r["t"][first, pix], rc["t"])
                src_tri = np.where(edge, r["tri"][first, pix], rc["tri"])
                src_uv = np.where(edge[:, None], r["uv"][first, pix], rc["uv"])
                shade_idx = np.flatnonzero(hit | edge)
            col = np.zeros((H * W, 3))
            if len(shade_idx):
                col[shade_idx] = self._shade_hits(src_rays[shade_idx], src_t[shade_idx], src_tri[shade_idx],
                                                  src_uv[shade_idx], shade_fn, light_dir)
            a = cov.reshape(H, W, 1)
            images[i] = (a * col.reshape(H, W, 3) + (1 - a) * background).astype(np.float32)
            masks[i] = a[..., 0]
        return Rendered(images, masks, depth, hits)
