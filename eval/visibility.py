"""Which vertices of a closed ground-truth mesh a scanner could capture.

A synthetic head's ground truth is a closed surface: the mouth slit is closed deep inside the mouth by a
fan, so the inner faces of the lips (a slot of zero width, up to ≈ 30 mm deep) are part of it. No camera and
no scanner sees inside a closed mouth, and an SDF cannot hold a zero-width slot, while a template mesh (the
ICT mean head) carries the same slot: scored on the closed mesh, hidden vertices reward a template and punish
every reconstruction (measured on one head: 6.6 mm GT -> prediction on the hidden vertices for a fitted SDF,
1.4 mm for the placed mean head). A real H3DS ground truth is a scan, i.e. only the visible surface.

``scan_visible`` marks a vertex as scanned when a ray leaving it (0.3 mm off the surface along its normal) in
at least one of ``n_directions`` directions spread over the sphere escapes the mesh, counting only directions
within ``max_angle_deg`` of the vertex normal (a scanner does not see a surface at grazing angles).
``scan_visible_reference`` is the same test with a brute-force ray-triangle intersection (small meshes, tests).
"""

from __future__ import annotations

import numpy as np

from meshing.extract import vertex_normals  # the area-weighted normals, one copy

#: defaults of the scan test
N_DIRECTIONS = 128
MAX_ANGLE_DEG = 75.0
OFFSET = 0.3  # mesh units (mm)


def sphere_directions(n: int) -> np.ndarray:
    """``n`` unit vectors spread evenly over the sphere (Fibonacci lattice), (n, 3)."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5 ** 0.5) * i
    return np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)


def _candidates(vertices, faces, n_directions, max_angle_deg, offset, subset):
    v = np.asarray(vertices, np.float64)
    idx = np.arange(len(v)) if subset is None else np.asarray(subset, np.int64)
    nrm = vertex_normals(v, np.asarray(faces, np.int64))[idx]
    dirs = sphere_directions(n_directions)
    ok = nrm @ dirs.T >= np.cos(np.radians(max_angle_deg))  # (m, d): directions the vertex may be seen from
    return idx, v[idx] + offset * nrm, dirs, ok


def scan_visible(vertices: np.ndarray, faces: np.ndarray, *, n_directions: int = N_DIRECTIONS,
                 max_angle_deg: float = MAX_ANGLE_DEG, offset: float = OFFSET,
                 subset: np.ndarray | None = None) -> np.ndarray:
    """Boolean (n,) (or (len(subset),)): the vertex is visible from outside the mesh (see the module)."""
    import open3d as o3d

    idx, origins, dirs, ok = _candidates(vertices, faces, n_directions, max_angle_deg, offset, subset)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.asarray(vertices, np.float32)),
                        o3d.core.Tensor(np.asarray(faces, np.uint32)))
    seen = np.zeros(len(idx), bool)
    for j, d in enumerate(dirs):
        todo = ok[:, j] & ~seen
        if not todo.any():
            continue
        o = origins[todo]
        rays = np.concatenate([o, np.broadcast_to(d, o.shape)], 1).astype(np.float32)
        hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
        seen[np.flatnonzero(todo)[np.isinf(hit)]] = True
    return seen


def scan_visible_reference(vertices: np.ndarray, faces: np.ndarray, *, n_directions: int = N_DIRECTIONS,
                           max_angle_deg: float = MAX_ANGLE_DEG, offset: float = OFFSET,
                           subset: np.ndarray | None = None) -> np.ndarray:
    """``scan_visible`` with a brute-force Moller-Trumbore test of every ray against every triangle."""
    idx, origins, dirs, ok = _candidates(vertices, faces, n_directions, max_angle_deg, offset, subset)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    a, e1, e2 = v[f[:, 0]], v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]
    seen = np.zeros(len(idx), bool)
    for i, o in enumerate(origins):
        for j in np.flatnonzero(ok[i]):
            d = dirs[j]
            p = np.cross(d, e2)
            det = (e1 * p).sum(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1.0 / det
                s = o - a
                u = (s * p).sum(1) * inv
                q = np.cross(s, e1)
                w = (q @ d) * inv
                t = (q * e2).sum(1) * inv
            hit = (np.abs(det) > 1e-12) & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
            if not hit.any():
                seen[i] = True
                break
    return seen


def submesh(vertices: np.ndarray, faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The faces whose three vertices are all kept, unreferenced vertices dropped.

    Returns (vertices, faces, old_to_new) with ``old_to_new[i] = -1`` for a dropped vertex."""
    keep = np.asarray(keep, bool)
    f = np.asarray(faces, np.int64)
    f = f[keep[f].all(1)]
    used = np.zeros(len(vertices), bool)
    used[f.ravel()] = True
    old_to_new = np.full(len(vertices), -1, np.int64)
    old_to_new[used] = np.arange(int(used.sum()))
    return np.asarray(vertices)[used], old_to_new[f], old_to_new
