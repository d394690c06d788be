"""SDF sampling on a regular grid over the unit-sphere frame's cube, and marching cubes on it.

Two paths that give the same triangles:

- :func:`dense_marching_cubes` — the reference: evaluate every grid point (in chunks), one
  marching-cubes call on the full ``(R+1)³`` array.
- :func:`hierarchical_marching_cubes` — evaluate a coarse grid, keep only the cells that may hold the
  surface, halve them, repeat down to the full resolution; marching cubes then runs on blocks that
  contain a sign change, and only the triangles of fully evaluated cells are kept.

The pruning test assumes the SDF is ``lipschitz``-Lipschitz: a cell of edge ``s`` can only hold the
zero level set if EVERY corner has ``|sdf| ≤ lipschitz · √3 · s`` (the cell diagonal), or the signs differ. A true SDF has
constant 1; a learned one with the eikonal loss is close to it, hence the default safety factor 2.

Solid interiors (``solid=True``, the default of both paths): before marching cubes, positive grid points
not 6-connected to the grid boundary are re-signed (:mod:`meshing.solid`), so a hollow field still gives
one outer surface. The hierarchical path does the flood fill on the full-resolution SIGN grid it can infer:
evaluated points have their value, every other point lies in a cell pruned at some level (no surface in it,
by the Lipschitz test), whose corners all share its sign. Both paths re-sign the same points.

Grid convention: ``resolution`` R is the number of CELLS per axis; the ``R+1`` points per axis are
``lo + i · (hi - lo) / R``. Vertex coordinates come back in the unit-sphere frame.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from meshing.errors import EmptyMeshError, MeshingError
from meshing.solid import Resigned, enclosed_positive, resign_interior

log = logging.getLogger(__name__)

SDFFn = Callable[[np.ndarray], np.ndarray]
"""``sdf_fn(points (n, 3) float32, unit-sphere frame) -> (n,)`` signed distance, negative inside."""

_PART = 1 << 20
"""cells per part when the hierarchy reads their corners (bounds the (part, 8) temporaries)"""
_SLAB = 32
"""grid planes per slab in the sign-grid passes (bounds their (slab, R+1, R+1) temporaries)"""

# the 8 corners of a unit cell, (8, 3) int64, x-major like np.indices
_CORNERS = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=np.int64)


@dataclass(frozen=True)
class GridConfig:
    """Where and how finely the SDF is sampled."""

    resolution: int = 256
    """cells per axis (the grid has resolution + 1 points per axis); 512 for benchmarks"""
    bound: float = 1.01
    """the grid spans [-bound, bound]³ in the unit-sphere frame"""
    chunk: int = 262_144
    """points per sdf_fn call (bounds peak memory of the network evaluation)"""

    @property
    def voxel(self) -> float:
        """edge length of one cell in the unit-sphere frame"""
        return 2.0 * self.bound / self.resolution


@dataclass(frozen=True)
class HierarchyConfig:
    """Coarse-to-fine pruning used by :func:`hierarchical_marching_cubes`."""

    coarse_resolution: int = 16
    """fewest cells per axis of the first, fully evaluated level: its cells are the largest power-of-two
    multiple of the fine cell that divides the resolution and leaves at least this many"""
    lipschitz: float = 2.0
    """safety factor on the SDF's Lipschitz constant in the pruning test (1 for an exact SDF)"""
    block: int = 32
    """cells per axis of the blocks marching cubes runs on"""


@dataclass(frozen=True)
class RawMesh:
    """Triangles straight from marching cubes, in the unit-sphere frame, faces pointing outward."""

    vertices: np.ndarray
    """(n, 3) float64 positions in the unit-sphere frame"""
    faces: np.ndarray
    """(m, 3) int64 vertex indices, counter-clockwise seen from outside (negative SDF inside)"""
    evaluations: int
    """number of SDF evaluations it took"""
    resigned: Resigned = Resigned(0, 0)
    """grid points re-signed from positive (enclosed hollow) to negative before marching cubes"""


def check_sdf_values(values: np.ndarray, n: int) -> np.ndarray:
    """Validate one ``sdf_fn`` answer: shape (n,) or (n, 1), finite; returns float32 (n,)."""
    v = np.asarray(values)
    if v.shape not in ((n,), (n, 1)):
        raise MeshingError(f"sdf_fn returned shape {v.shape} for {n} points; expected ({n},) or ({n}, 1)")
    v = v.reshape(n).astype(np.float32, copy=False)
    if not np.all(np.isfinite(v)):
        raise MeshingError(f"sdf_fn returned {int((~np.isfinite(v)).sum())} non-finite values")
    return v


def evaluate(sdf_fn: SDFFn, points: np.ndarray, chunk: int = 262_144) -> np.ndarray:
    """``sdf_fn`` over ``points`` (n, 3) in chunks; float32 (n,)."""
    points = np.asarray(points, dtype=np.float32)
    out = np.empty(len(points), dtype=np.float32)
    for s in range(0, len(points), chunk):
        p = np.ascontiguousarray(points[s : s + chunk])
        out[s : s + len(p)] = check_sdf_values(sdf_fn(p), len(p))
    return out


def grid_coords(index: np.ndarray, grid: GridConfig) -> np.ndarray:
    """Coordinates (float32) of grid indices along one axis, exactly as both paths use them:
    ``-bound + i · (2·bound / R)`` in float64, rounded once to float32 (like ``np.linspace``). Both paths
    feeding bit-identical points to ``sdf_fn`` is what makes their triangles identical."""
    i = np.asarray(index)
    c = i.astype(np.float64) * (2.0 * grid.bound / grid.resolution) - grid.bound
    return np.where(i == grid.resolution, grid.bound, c).astype(np.float32)


def dense_sdf_grid(sdf_fn: SDFFn, grid: GridConfig = GridConfig()) -> np.ndarray:
    """SDF at every grid point: float32 (R+1, R+1, R+1), index [i, j, k] ↔ (x_i, y_j, z_k).

    Evaluated slab by slab along x so that at most ``grid.chunk`` points go to ``sdf_fn`` at once.
    """
    n = grid.resolution + 1
    axis = grid_coords(np.arange(n), grid)
    out = np.empty((n, n, n), dtype=np.float32)
    yz = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)  # (n², 2)
    rows = max(1, grid.chunk // (n * n))
    for i in range(0, n, rows):
        xs = axis[i : i + rows]
        pts = np.concatenate(
            [np.repeat(xs, n * n)[:, None], np.tile(yz, (len(xs), 1))], axis=1
        )  # (len(xs)·n², 3), x-major like the output
        out[i : i + len(xs)] = evaluate(sdf_fn, pts, grid.chunk).reshape(len(xs), n, n)
    return out


def _marching_cubes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero level set of a grid of SDF values; vertices in index units, faces outward (-sdf inside)."""
    import mcubes

    # pymcubes orients triangles towards decreasing values; negate so they face away from the inside
    v, f = mcubes.marching_cubes(-np.ascontiguousarray(values, dtype=np.float64), 0.0)
    return v, f.astype(np.int64)


def dense_marching_cubes(sdf_fn: SDFFn, grid: GridConfig = GridConfig(), solid: bool = True,
                         seal: float = 0.0) -> RawMesh:
    """Reference path: the full grid, one marching-cubes call. Raises EmptyMeshError if no surface.

    ``solid``: re-sign enclosed positive points first (:func:`meshing.solid.resign_interior`); ``seal``
    (voxels): also hollows with openings narrower than 2·seal (:func:`meshing.solid.enclosed_positive`)."""
    values = dense_sdf_grid(sdf_fn, grid)
    resigned = Resigned(0, values.size)
    if solid:
        values, resigned = resign_interior(values, seal=seal)
    if not (values.min() < 0 < values.max()):
        raise EmptyMeshError(_empty_message(float(values.min()), float(values.max()), grid))
    v, f = _marching_cubes(values)
    if len(f) == 0:
        raise EmptyMeshError(_empty_message(float(values.min()), float(values.max()), grid))
    return RawMesh(vertices=v * grid.voxel - grid.bound, faces=f, evaluations=values.size, resigned=resigned)


def _empty_message(vmin: float, vmax: float, grid: GridConfig) -> str:
    return (
        f"the SDF never crosses zero in [-{grid.bound}, {grid.bound}]³ at resolution {grid.resolution} "
        f"(values from {vmin:.4g} to {vmax:.4g}): there is no surface to mesh"
    )


def hierarchical_marching_cubes(
    sdf_fn: SDFFn, grid: GridConfig = GridConfig(), hierarchy: HierarchyConfig = HierarchyConfig(),
    solid: bool = True, seal: float = 0.0,
) -> RawMesh:
    """Same triangles as :func:`dense_marching_cubes`, evaluating the SDF only near the surface.

    Levels: cells of edge ``s = R / coarse_resolution`` (in fine cells; rounded to a power of two that
    divides R), all evaluated; cells that fail the Lipschitz test are dropped, the rest split in 8;
    down to ``s = 1``. The final cells with a sign change are meshed blockwise; a block's points that
    were never evaluated get a placeholder value, and triangles in cells that were not fully evaluated
    are dropped, so every kept triangle is exactly the dense one.

    ``solid``: the signs of all (R+1)³ points are inferred (evaluated value, or the sign of the pruned
    cell holding the point), enclosed positive points are re-signed, and the cells that no longer change
    sign are dropped: the same points and triangles as the dense path with ``solid=True``. With ``seal``
    the cap of a sealed opening can lie where the hierarchy pruned: every fine cell whose corners' inferred
    signs differ after re-signing is then evaluated and meshed too (still the dense path's triangles).

    Memory: one float32 array of (R+1)³ values (NaN = not evaluated) and one (R+1)³ byte mask,
    about 0.7 GB at R = 512; with ``solid`` the mask is dropped for two (R+1)³ byte grids (signs, hollows) and
    the labels of the box around the solid (4 bytes a point). Temporaries are bounded by reading cells in
    parts (``_PART``) and planes in slabs (``_SLAB``): at R = 512 extracting the prior's mean head peaked at
    1.38 GB in a process that held 0.29 GB before (2.05 GB before the parts and slabs). The SDF is evaluated
    at a few percent of the points.
    """
    R = grid.resolution
    n = R + 1
    step = 1
    while R % (step * 2) == 0 and R // (step * 2) >= hierarchy.coarse_resolution:
        step *= 2
    if step == 1:
        log.warning("hierarchical meshing: resolution %d has no power-of-two factor leaving >= %d coarse cells; "
                    "every point will be evaluated (use e.g. 256 or 512)", R, hierarchy.coarse_resolution)
    values = np.full(n**3, np.nan, dtype=np.float32)  # flat (R+1)³, NaN = not evaluated yet
    wanted = np.zeros(n**3, dtype=bool)
    corner_offsets = (_CORNERS[:, 0] * n + _CORNERS[:, 1]) * n + _CORNERS[:, 2]  # (8,) flat offsets
    axis = np.arange(0, R, step, dtype=np.int64)
    ijk = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    cells = (ijk[:, 0] * n + ijk[:, 1]) * n + ijk[:, 2]  # (m,) flat index of each cell's origin
    evaluations = 0
    vmin, vmax = np.inf, -np.inf
    pruned_levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step, pruned cell origins, positive?)
    while True:
        for part in _parts(cells):  # mark the corners of every cell, a part at a time (bounded temporaries)
            wanted[(part[:, None] + step * corner_offsets[None]).ravel()] = True
        todo = np.flatnonzero(wanted)
        wanted[todo] = False
        todo = todo[np.isnan(values[todo])]
        if len(todo):
            pts = grid_coords(np.stack([todo // (n * n), (todo // n) % n, todo % n], -1), grid)
            values[todo] = evaluate(sdf_fn, pts, grid.chunk)
            evaluations += len(todo)
        # per cell: a sign change, all corners within the Lipschitz bound, the sign of its largest corner
        crosses, near, positive_max = (np.empty(len(cells), dtype=bool) for _ in range(3))
        # a surface point q in the cell bounds EVERY corner: |sdf(c)| <= L·|c - q| <= L·diagonal
        bound = hierarchy.lipschitz * math.sqrt(3.0) * step * grid.voxel
        for lo in range(0, len(cells), _PART):
            v = values[cells[lo : lo + _PART, None] + step * corner_offsets[None]]  # (part, 8)
            vmin, vmax = min(vmin, float(v.min())), max(vmax, float(v.max()))
            low, high = v.min(1), v.max(1)
            crosses[lo : lo + _PART] = (low < 0) & (high > 0)
            near[lo : lo + _PART] = np.maximum(-low, high) <= bound
            positive_max[lo : lo + _PART] = high > 0
        if step == 1:
            cells = cells[crosses]
            break
        if solid:
            gone = ~(crosses | near)  # no surface inside: every point of the cell has its corners' sign
            pruned_levels.append((step, cells[gone], positive_max[gone]))
        keep = cells[crosses | near]
        step //= 2
        cells = (keep[:, None] + step * corner_offsets[None]).ravel()  # (8·m,) children
        log.debug("hierarchical meshing: %d cells of edge %d", len(cells), step)
    del wanted
    resigned = Resigned(0, n**3)
    if solid and len(cells):
        positive = _sign_grid(values.reshape(n, n, n), pruned_levels, R)
        inner = enclosed_positive(positive, seal)
        resigned = Resigned(int(inner.sum()), n**3)
        if resigned.voxels:
            flat = inner.reshape(-1)
            if seal > 0:  # caps may cross pruned cells: take every cell whose signs now differ, evaluate it
                positive &= ~inner  # the signs after re-signing (in place: the grid is large)
                cells = _mixed_cells(positive)
                corners = np.unique((cells[:, None] + corner_offsets[None]).ravel())
                todo = corners[np.isnan(values[corners])]
                if len(todo):
                    pts = grid_coords(np.stack([todo // (n * n), (todo // n) % n, todo % n], -1), grid)
                    values[todo] = evaluate(sdf_fn, pts, grid.chunk)
                    evaluations += len(todo)
            values[flat] = -np.abs(values[flat])  # NaN stays NaN (never evaluated)
            v = values[cells[:, None] + corner_offsets[None]]
            cells = cells[(v.min(1) < 0) & (v.max(1) > 0)]
        log.debug("hierarchical meshing: %d enclosed positive points re-signed", resigned.voxels)
    if len(cells) == 0:
        raise EmptyMeshError(_empty_message(vmin, vmax, grid))
    ijk = np.stack([cells // (n * n), (cells // n) % n, cells % n], -1)
    verts, faces = _mesh_cells(ijk, values.reshape(n, n, n), hierarchy.block, R)
    return RawMesh(vertices=verts * grid.voxel - grid.bound, faces=faces, evaluations=evaluations,
                   resigned=resigned)


def _parts(cells: np.ndarray):
    """``cells`` in consecutive parts of at most ``_PART``."""
    for lo in range(0, len(cells), _PART):
        yield cells[lo : lo + _PART]


def _mixed_cells(positive: np.ndarray) -> np.ndarray:
    """Flat (R+1)³ indices of the origins of the cells of the (R+1)³ bool grid whose 8 corners differ
    (computed a slab of cells at a time)."""
    n = positive.shape[0]
    out = []
    for i0 in range(0, n - 1, _SLAB):
        i1 = min(i0 + _SLAB, n - 1)
        c = positive[i0:i1, :-1, :-1]
        mixed = np.zeros(c.shape, dtype=bool)
        for di, dj, dk in _CORNERS[1:]:
            mixed |= positive[i0 + di : i1 + di, dj : dj + c.shape[1], dk : dk + c.shape[2]] != c
        i, j, k = np.nonzero(mixed)
        out.append(((i + i0) * n + j) * n + k)
    return np.concatenate(out)


def _sign_grid(values: np.ndarray, pruned_levels: list, R: int) -> np.ndarray:
    """``positive`` (R+1)³ bool of the hierarchical path: an evaluated point's own sign; any other point
    takes the sign of the pruned cell that holds it. A point's cell at step s is ``min(i // s, R/s - 1)``
    per axis; these cells nest across levels, and an unevaluated point always has a pruned one among them
    (the step-1 cell holding it would have evaluated it). Filled a slab of points at a time."""
    n = R + 1
    levels = []  # (step, (R/step)³ int8: +1 pruned positive, -1 pruned negative, 0 kept)
    for step, origins, pos in pruned_levels:
        m = R // step
        level = np.zeros((m, m, m), dtype=np.int8)
        o = np.stack([origins // (n * n), (origins // n) % n, origins % n], -1) // step
        level[o[:, 0], o[:, 1], o[:, 2]] = np.where(pos, 1, -1)
        levels.append((step, m, level))
    positive = values > 0  # NaN > 0 is False
    missing = 0
    for i0 in range(0, n, _SLAB):
        i1 = min(i0 + _SLAB, n)
        unknown = np.isnan(values[i0:i1])
        slab = positive[i0:i1]  # a view: filled in place
        for step, m, level in levels:
            if not unknown.any():
                break
            idx = np.minimum(np.arange(n) // step, m - 1)
            sign = level[np.ix_(idx[i0:i1], idx, idx)]  # the sign of the level-`step` cell of each point
            fill = unknown & (sign != 0)
            slab[fill] = sign[fill] > 0
            unknown &= ~fill
        missing += int(unknown.sum())
    if missing:  # cannot happen (see above); fail loudly rather than guess
        raise MeshingError(f"hierarchical meshing: {missing} grid points without an inferred sign")
    return positive


def _mesh_cells(cells: np.ndarray, values: np.ndarray, block: int, R: int) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of the fine ``cells`` (m, 3) whose corners are all in ``values`` (NaN elsewhere),
    block by block; vertices (index units) welded across blocks."""
    bidx = cells // block  # (m, 3) block of each cell
    nb = R // block + 1
    bkey = (bidx[:, 0] * nb + bidx[:, 1]) * nb + bidx[:, 2]
    order = np.argsort(bkey, kind="stable")
    cells, bidx, bkey = cells[order], bidx[order], bkey[order]
    starts = np.flatnonzero(np.r_[True, bkey[1:] != bkey[:-1]])
    ends = np.r_[starts[1:], len(cells)]
    all_v, all_f, offset = [], [], 0
    for s, e in zip(starts, ends):
        origin = bidx[s] * block
        size = np.minimum(block, R - origin)  # cells in this block per axis
        local = cells[s:e] - origin  # (c, 3)
        arr = values[tuple(slice(o, o + z + 1) for o, z in zip(origin, size))]
        # placeholder for never-evaluated points: any value works, their cells' triangles are dropped
        arr = np.where(np.isnan(arr), np.float32(1.0), arr)
        v, f = _marching_cubes(arr)
        if len(f) == 0:
            continue
        # the cell of a triangle: floor of its centroid (its vertices lie on that cell's edges)
        tri_cell = np.floor(v[f].mean(1)).astype(np.int64).clip(0, size - 1)  # (t, 3)
        mask = np.zeros(tuple(size), dtype=bool)
        mask[local[:, 0], local[:, 1], local[:, 2]] = True
        f = f[mask[tri_cell[:, 0], tri_cell[:, 1], tri_cell[:, 2]]]
        used = np.unique(f)
        remap = np.full(len(v), -1, dtype=np.int64)
        remap[used] = np.arange(len(used)) + offset
        all_v.append(v[used] + origin)
        all_f.append(remap[f])
        offset += len(used)
    if not all_f:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    verts = np.concatenate(all_v)
    faces = np.concatenate(all_f)
    # weld the copies of vertices on shared block faces: same grid edge -> same vertex
    _, first, inverse = np.unique(edge_keys(verts, R + 1), return_index=True, return_inverse=True)
    return verts[first], inverse.reshape(-1)[faces]


def edge_keys(vertices: np.ndarray, n: int) -> np.ndarray:
    """The grid edge each marching-cubes vertex (index units, ``n`` points per axis) lies on, as an int64.

    A vertex has at most one non-integer coordinate (along its edge); the key is the edge's lower
    end point and axis. Two copies of a vertex from neighbouring blocks get the same key.
    """
    r = np.round(vertices)
    axis = np.argmax(np.abs(vertices - r), axis=1)  # (v,) the edge direction
    base = r.astype(np.int64)
    rows = np.arange(len(vertices))
    base[rows, axis] = np.floor(vertices[rows, axis]).astype(np.int64)
    return ((base[:, 0] * n + base[:, 1]) * n + base[:, 2]) * 3 + axis
