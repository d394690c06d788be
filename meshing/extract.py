"""From an SDF callable to a cleaned surface, and from a surface to a coloured mesh in the world frame."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from meshing import cleanup
from meshing.errors import EmptyMeshError, MeshingError
from meshing.grid import (
    GridConfig,
    HierarchyConfig,
    SDFFn,
    dense_marching_cubes,
    hierarchical_marching_cubes,
)

log = logging.getLogger(__name__)

EVAL_RESOLUTION = 512
"""marching-cubes resolution the benchmarks score at (the NeuS evaluation grid). The H3DS metric is vertex to
nearest vertex, so a coarser mesh pays a sampling floor even for a perfect field: a synthetic head's exact
surface meshed at 256 scores 0.56 mm, at 512 0.27-0.32 mm (``benchmarks/bench_quality.py``, row "exact")."""
OUTPUT_RESOLUTION = EVAL_RESOLUTION
"""marching-cubes resolution of the meshes a fit or a command writes by default (``--resolution`` changes it): the
mesh a user gets is the one the benchmarks score. A one-view fit with every output peaked at 1.59 GB this way
(``benchmarks/bench_fit_time.py --resolution 512``; 2.3 GB before the meshing's parts, slabs and cropped flood
fill, which is why the default was 256 for a while)"""

ColorFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``color_fn(points (n, 3), normals (n, 3)) -> (n, 3)`` RGB in [0, 1], unit-sphere frame."""


@dataclass(frozen=True)
class MeshConfig:
    """Surface extraction: grid, which path, clean-up."""

    grid: GridConfig = field(default_factory=GridConfig)
    """sampling grid (256 by default; the benchmarks score at ``EVAL_RESOLUTION``)"""
    hierarchical: bool = True
    """evaluate the SDF only near the surface (same triangles as the dense reference)"""
    hierarchy: HierarchyConfig = field(default_factory=HierarchyConfig)
    """coarse level and Lipschitz safety factor of the hierarchical path"""
    solid: bool = True
    """re-sign positive grid points not connected to the grid boundary (a hollow field) before marching cubes"""
    seal: float = 0.15
    """with ``solid``: also re-sign hollows whose openings are narrower than 2·seal (unit-frame distance; 0.15 =
    30 mm of a head: the shipped prior's mean head and 1-view fits on it are open at the crown); 0 = only
    fully enclosed hollows"""
    largest_component: bool = True
    """drop floaters: keep only the connected component with the most faces"""
    fill_holes: bool = False
    """close boundary loops (e.g. the neck where the head leaves the grid) with triangle fans"""
    chunk: int = 65_536
    """points per color_fn call"""


@dataclass(frozen=True)
class Surface:
    """A triangle mesh in the unit-sphere frame, faces outward."""

    vertices: np.ndarray
    """(n, 3) float64, unit-sphere frame"""
    faces: np.ndarray
    """(m, 3) int64"""
    evaluations: int = 0
    """SDF evaluations spent extracting it"""
    seconds: float = 0.0
    """wall time of the extraction"""
    resigned_voxels: int = 0
    """grid points re-signed from positive to negative (enclosed hollows; large means the field is hollow)"""
    resigned_fraction: float = 0.0
    """resigned_voxels over all (resolution + 1)³ grid points"""


def extract_surface(sdf_fn: SDFFn, config: MeshConfig = MeshConfig()) -> Surface:
    """Marching cubes at level 0 (hierarchical or dense), enclosed hollows re-signed first
    (``config.solid``), then the configured clean-up.

    Raises :class:`EmptyMeshError` when the SDF never crosses zero in the grid.
    """
    t0 = time.perf_counter()
    if config.hierarchical:
        raw = hierarchical_marching_cubes(sdf_fn, config.grid, config.hierarchy, solid=config.solid,
                                          seal=config.seal / config.grid.voxel)
    else:
        raw = dense_marching_cubes(sdf_fn, config.grid, solid=config.solid, seal=config.seal / config.grid.voxel)
    v, f = raw.vertices, raw.faces
    if config.largest_component:
        v, f = cleanup.largest_component(v, f)
    if config.fill_holes:
        v, f = cleanup.fill_holes(v, f)
    seconds = time.perf_counter() - t0
    log.info("meshing: %d vertices, %d faces at %d³ (%s, %.1f s, %d SDF evaluations, %d enclosed positive "
             "grid points re-signed = %.2f %%)", len(v), len(f), config.grid.resolution,
             "hierarchical" if config.hierarchical else "dense", seconds, raw.evaluations, raw.resigned.voxels,
             100 * raw.resigned.fraction)
    return Surface(vertices=v, faces=f, evaluations=raw.evaluations, seconds=seconds,
                   resigned_voxels=raw.resigned.voxels, resigned_fraction=raw.resigned.fraction)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (outward for outward faces)."""
    tri = vertices[faces]  # (m, 3, 3)
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (m, 3), |fn| = 2·area
    idx = faces.ravel()  # (3m,) each face's normal goes to its three vertices
    vn = np.stack([np.bincount(idx, np.repeat(fn[:, c], 3), minlength=len(vertices)) for c in range(3)], 1)
    norm = np.linalg.norm(vn, axis=1, keepdims=True)
    return vn / np.where(norm > 0, norm, 1.0)


def query_colors(color_fn: ColorFn, points: np.ndarray, normals: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """``color_fn`` in chunks, checked: float32 (n, 3) clipped to [0, 1]."""
    out = np.empty((len(points), 3), dtype=np.float32)
    for s in range(0, len(points), chunk):
        p = np.ascontiguousarray(points[s : s + chunk], dtype=np.float32)
        nrm = np.ascontiguousarray(normals[s : s + chunk], dtype=np.float32)
        c = np.asarray(color_fn(p, nrm), dtype=np.float32)
        if c.shape != (len(p), 3):
            raise MeshingError(f"color_fn returned shape {c.shape} for {len(p)} points; expected ({len(p)}, 3)")
        out[s : s + len(p)] = c
    if not np.all(np.isfinite(out)):
        raise MeshingError("color_fn returned non-finite colours")
    return out.clip(0.0, 1.0)


def transform_mesh(vertices: np.ndarray, faces: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a 4×4 affine map to the vertices; flips the winding if it mirrors, so faces stay outward."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise MeshingError(f"expected a finite (4, 4) transform, got shape {m.shape}")
    v = vertices @ m[:3, :3].T + m[:3, 3]
    det = np.linalg.det(m[:3, :3])
    if abs(det) < 1e-12:
        raise MeshingError("the transform is singular")
    return v, (faces[:, ::-1].copy() if det < 0 else faces)


def extract_mesh(
    sdf_fn: SDFFn,
    color_fn: ColorFn | None = None,
    to_world: np.ndarray | None = None,
    config: MeshConfig = MeshConfig(),
):
    """SDF callable → ``trimesh.Trimesh`` in the world frame, with vertex colours from ``color_fn``
    (queried at the unit-frame vertices with the outward vertex normals; the caller uses view = −normal).
    ``mesh.metadata`` holds ``resigned_voxels`` / ``resigned_fraction`` of the extraction.
    """
    return surface_mesh(extract_surface(sdf_fn, config), color_fn, to_world, config.chunk)


def surface_mesh(surf: Surface, color_fn: ColorFn | None = None, to_world: np.ndarray | None = None,
                 chunk: int = 65_536):
    """An extracted ``Surface`` as a ``trimesh.Trimesh`` in the world frame, vertex colours from ``color_fn``
    (see :func:`extract_mesh`); lets one extraction serve both mesh.ply and the exported assets."""
    import trimesh

    colors = None
    if color_fn is not None:
        rgb = query_colors(color_fn, surf.vertices, vertex_normals(surf.vertices, surf.faces), chunk)
        colors = np.concatenate([(rgb * 255 + 0.5).astype(np.uint8), np.full((len(rgb), 1), 255, np.uint8)], 1)
    v, f = surf.vertices, surf.faces
    if to_world is not None:
        v, f = transform_mesh(v, f, to_world)
    return trimesh.Trimesh(vertices=v, faces=f, vertex_colors=colors, process=False,
                           metadata={"resigned_voxels": surf.resigned_voxels,
                                     "resigned_fraction": surf.resigned_fraction})


__all__ = [
    "ColorFn", "EmptyMeshError", "MeshConfig", "Surface", "extract_mesh", "extract_surface", "surface_mesh",
    "query_colors", "transform_mesh", "vertex_normals",
]
