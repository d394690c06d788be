"""Mesh clean-up on plain arrays: largest connected component, hole filling, quadric decimation."""

from __future__ import annotations

import logging

import numpy as np

from meshing.errors import MeshingError

log = logging.getLogger(__name__)


def remove_unreferenced(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices no face uses; faces re-indexed."""
    used, inverse = np.unique(faces, return_inverse=True)
    return vertices[used], inverse.reshape(faces.shape).astype(np.int64)


def largest_component(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the connected component (faces sharing vertices) with the most faces."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(faces) == 0:
        return vertices, faces
    n = len(vertices)
    a = np.concatenate([faces[:, 0], faces[:, 1]])
    b = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    if count == 1:
        return vertices, faces
    face_label = label[faces[:, 0]]
    best = np.argmax(np.bincount(face_label, minlength=count))
    log.debug("largest component: %d of %d components, %d of %d faces", best, count,
              int((face_label == best).sum()), len(faces))
    return remove_unreferenced(vertices, faces[face_label == best])


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed loops of boundary edges, each an array of vertex indices in the order of the mesh's
    own (outward) edges a→b. Vertices where boundaries touch (two outgoing boundary edges) end a
    chain; such open chains are not returned."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3m, 2) directed
    n = int(faces.max()) + 1
    key = e[:, 0] * n + e[:, 1]
    rev = e[:, 1] * n + e[:, 0]
    boundary = e[~np.isin(key, rev)]  # directed edges whose twin is missing
    nxt: dict[int, int] = {}
    bad: set[int] = set()
    for a, b in boundary.tolist():
        if a in nxt:
            bad.add(a)
        nxt[a] = b
    loops, seen = [], set()
    for start in nxt:
        if start in seen or start in bad:
            continue
        loop, v = [], start
        while v in nxt and v not in seen and v not in bad:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        if v == start and len(loop) >= 3:
            loops.append(np.array(loop, dtype=np.int64))
    return loops


def fill_holes(vertices: np.ndarray, faces: np.ndarray, max_holes: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Close boundary loops (the neck cut where the head leaves the grid) with a fan around each
    loop's centroid; the new triangles keep the mesh's orientation. ``max_holes`` fills only the
    longest loops."""
    loops = sorted(boundary_loops(faces), key=len, reverse=True)
    if max_holes is not None:
        loops = loops[:max_holes]
    if not loops:
        return vertices, faces
    new_v, new_f = [vertices], [faces]
    n = len(vertices)
    for loop in loops:
        centre = n
        n += 1
        new_v.append(vertices[loop].mean(0, keepdims=True))
        # the existing face has a→b; the fan face must run b→a to be consistently oriented
        a, b = loop, np.roll(loop, -1)
        new_f.append(np.stack([b, a, np.full(len(loop), centre)], 1))
    log.debug("filled %d holes (%s boundary vertices)", len(loops), [len(l) for l in loops])
    return np.concatenate(new_v), np.concatenate(new_f).astype(np.int64)


def decimate(vertices: np.ndarray, faces: np.ndarray, target_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric edge-collapse decimation (``fast_simplification``) to about ``target_faces`` faces."""
    if target_faces <= 0:
        raise MeshingError(f"target face count must be positive, got {target_faces}")
    if len(faces) <= target_faces:
        return vertices, faces
    try:
        import fast_simplification
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("decimation needs the 'fast-simplification' package") from e
    v, f = fast_simplification.simplify(
        np.asarray(vertices, dtype=np.float32), np.asarray(faces, dtype=np.int32),
        target_reduction=1.0 - target_faces / len(faces),
    )
    return remove_unreferenced(np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64))
