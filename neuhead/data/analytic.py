"""Analytic textured shapes with exact SDFs, a sphere tracer, and the bundled sample scene.

Used for the demo scene in ``assets/sample_scene`` and as ground truth in tests: the world frame is
millimetres and the object sits off the origin, like a real capture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuhead.cameras import Cameras, intrinsics, look_at
from neuhead.data.scene import Scene


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (Inigo Quilez); k in world units."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


@dataclass(frozen=True)
class Snowman:
    """A non-convex textured shape ≈ 220 mm tall: two smoothly joined spheres and a ring at the waist.

    All lengths in mm; ``center`` places the shape in the world (off the origin on purpose).
    """

    center: tuple[float, float, float] = (120.0, -40.0, 300.0)
    body_radius: float = 70.0
    head_radius: float = 45.0
    head_offset: float = 100.0
    ring_major: float = 62.0
    ring_minor: float = 16.0
    ring_height: float = 25.0
    light_dir: tuple[float, float, float] = (0.4, 0.7, 0.6)

    def sdf(self, p: np.ndarray) -> np.ndarray:
        """Signed distance (mm, negative inside) at world points p (n, 3). Exact up to the smooth joins."""
        q = np.asarray(p, dtype=np.float64) - np.asarray(self.center)
        body = np.linalg.norm(q, axis=-1) - self.body_radius
        head = np.linalg.norm(q - [0.0, self.head_offset, 0.0], axis=-1) - self.head_radius
        r = q - [0.0, self.ring_height, 0.0]
        ring = np.linalg.norm(np.stack([np.linalg.norm(r[:, [0, 2]], axis=-1) - self.ring_major, r[:, 1]], -1), axis=-1) - self.ring_minor
        return np.minimum(_smin(body, head, 12.0), ring)

    def normal(self, p: np.ndarray, eps: float = 1e-3) -> np.ndarray:
        g = np.stack([(self.sdf(p + e) - self.sdf(p - e)) / (2 * eps) for e in np.eye(3) * eps], -1)
        return g / np.linalg.norm(g, axis=-1, keepdims=True).clip(1e-12)

    def albedo(self, p: np.ndarray) -> np.ndarray:
        """A colour defined as a function of position: smooth bands and blobs, RGB in [0, 1]."""
        q = (np.asarray(p) - np.asarray(self.center)) / 40.0
        r = 0.55 + 0.35 * np.sin(1.3 * q[:, 1] + 0.5)
        g = 0.45 + 0.30 * np.sin(1.1 * q[:, 0] + 1.7 * q[:, 2])
        b = 0.40 + 0.30 * np.cos(0.9 * q[:, 0] - 1.2 * q[:, 1])
        return np.clip(np.stack([r, g, b], -1), 0.0, 1.0)

    def shade(self, p: np.ndarray) -> np.ndarray:
        """View-independent radiance: albedo × (ambient + diffuse from a fixed world light)."""
        l = np.asarray(self.light_dir) / np.linalg.norm(self.light_dir)
        lam = np.clip(self.normal(p) @ l, 0.0, 1.0)
        return np.clip(self.albedo(p) * (0.45 + 0.55 * lam[:, None]), 0.0, 1.0)

    @property
    def bounding_radius(self) -> float:
        return self.head_offset + self.head_radius


def trace_depth(sdf, origins: np.ndarray, dirs: np.ndarray, t_max: float, iters: int = 200,
                 eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """March rays (n, 3) through an SDF. Returns depth t (n,) and hit (n,) bool."""
    t = np.zeros(len(origins))
    active = np.ones(len(origins), dtype=bool)
    hit = np.zeros(len(origins), dtype=bool)
    for _ in range(iters):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        d = sdf(origins[idx] + t[idx, None] * dirs[idx])
        t[idx] += d
        done = np.abs(d) < eps
        hit[idx[done]] = True
        gone = t[idx] > t_max
        active[idx[done | gone]] = False
    return t, hit


def render_shape(shape: Snowman, cams: Cameras, background: float = 0.0):
    """Exact images, masks and depths of an analytic shape. cams in the shape's world frame.

    Returns images (n, H, W, 3) float32, masks (n, H, W) float32, depth (n, H, W) (z in camera, 0 = miss).
    """
    H, W = cams.height, cams.width
    v, u = np.meshgrid(np.arange(H) + 0.5, np.arange(W) + 0.5, indexing="ij")
    images, masks, depths = [], [], []
    for K, c2w in zip(cams.K, cams.c2w):
        d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
        d = d_cam @ c2w[:3, :3].T
        dn = d / np.linalg.norm(d, axis=-1, keepdims=True)
        o = np.broadcast_to(c2w[:3, 3], dn.shape)
        t_max = np.linalg.norm(c2w[:3, 3] - shape.center) + shape.bounding_radius * 2
        t, hit = trace_depth(shape.sdf, o, dn, t_max)
        img = np.full((H * W, 3), background, dtype=np.float64)
        pts = o[hit] + t[hit, None] * dn[hit]
        img[hit] = shape.shade(pts)
        z = np.zeros(H * W)
        z[hit] = t[hit] / np.linalg.norm(d[hit], axis=-1)
        images.append(img.reshape(H, W, 3).astype(np.float32))
        masks.append(hit.reshape(H, W).astype(np.float32))
        depths.append(z.reshape(H, W))
    return np.stack(images), np.stack(masks), np.stack(depths)


def orbit_cameras(center, n_views: int, distance: float, fov_y_deg: float, width: int, height: int,
                  seed: int = 0) -> Cameras:
    """n cameras around ``center``: azimuths evenly spread (with jitter), elevations in [-20°, 40°]."""
    rng = np.random.default_rng(seed)
    c = np.asarray(center, dtype=np.float64)
    K = intrinsics(fov_y_deg, width, height)
    c2ws = []
    for i in range(n_views):
        az = 2 * np.pi * i / n_views + rng.uniform(-0.1, 0.1)
        el = np.deg2rad(rng.uniform(-20, 40))
        eye = c + distance * np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
        c2ws.append(look_at(eye, c + rng.normal(0, 5.0, 3)))
    return Cameras(np.repeat(K[None], n_views, 0), np.stack(c2ws), width, height)


def make_sample_scene(n_views: int = 24, res: int = 128, seed: int = 0, shape: Snowman | None = None) -> Scene:
    """The bundled sample: the Snowman in mm, off the origin, ``n_views`` views of res², with masks.

    ``to_world`` maps the unit sphere onto a ball of radius 1.15 × the shape's bounding radius around
    the shape's centre (what a NeuS ``scale_mat`` does).
    """
    shape = shape or Snowman()
    center = np.asarray(shape.center) + [0.0, 0.5 * (shape.head_offset + shape.head_radius - shape.body_radius), 0.0]
    world_cams = orbit_cameras(center, n_views, distance=520.0, fov_y_deg=30.0, width=res, height=res, seed=seed)
    images, masks, _ = render_shape(shape, world_cams)
    radius = 1.15 * max(shape.bounding_radius, shape.ring_major + shape.ring_minor) * 0.9
    to_world = np.diag([radius, radius, radius, 1.0])
    to_world[:3, 3] = center
    return Scene(images=images, masks=masks, cameras=world_cams.transformed(np.linalg.inv(to_world)),
                 to_world=to_world, names=[f"{i:03d}" for i in range(n_views)], units="mm")


def surface_points(shape: Snowman, n: int, seed: int = 0, resolution: int = 256) -> np.ndarray:
    """n points on the true surface (world mm): marching cubes of the exact SDF, area-uniform samples,
    then projected onto the zero level set with one Newton step."""
    import mcubes
    import trimesh

    r = shape.bounding_radius * 1.3
    lo = np.asarray(shape.center) - r
    g = np.linspace(0, 2 * r, resolution)
    grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) + lo
    vals = shape.sdf(grid).reshape(resolution, resolution, resolution)
    v, f = mcubes.marching_cubes(-vals, 0.0)
    v = v * (2 * r / (resolution - 1)) + lo
    pts, _ = trimesh.sample.sample_surface(trimesh.Trimesh(v, f, process=False), n, seed=seed)
    pts = np.asarray(pts)
    return pts - shape.sdf(pts)[:, None] * shape.normal(pts)
