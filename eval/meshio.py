"""Reading and checking the inputs of an evaluation: meshes, H3DS landmark and region files.

Every problem with a file raises ``EvalInputError`` (a ``ValueError``) whose message names the
file and what is wrong, so callers can show it as one line.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

#: the six landmarks of an H3DS ``landmarks.txt``
H3DS_LANDMARKS = ("right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips")


class EvalInputError(ValueError):
    """Bad evaluation input; the message names the file (or array) and what is wrong."""


@dataclass(frozen=True)
class MeshData:
    """A triangle mesh as plain arrays. vertices: (n, 3) float64; faces: (m, 3) int64 (m may be 0)."""

    vertices: np.ndarray
    faces: np.ndarray
    name: str = "mesh"


def check_mesh(vertices, faces=None, name: str = "mesh") -> MeshData:
    """Validate arrays: non-empty, finite vertices, face indices in range. Raises EvalInputError."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise EvalInputError(f"{name}: vertices must have shape (n, 3), got {v.shape}")
    if len(v) == 0:
        raise EvalInputError(f"{name}: mesh is empty (no vertices)")
    bad = ~np.isfinite(v).all(1)
    if bad.any():
        raise EvalInputError(f"{name}: {int(bad.sum())} of {len(v)} vertices have NaN/inf coordinates "
                             f"(first at index {int(np.flatnonzero(bad)[0])})")
    f = np.zeros((0, 3), np.int64) if faces is None else np.asarray(faces)
    if f.size == 0:
        f = np.zeros((0, 3), np.int64)
    if f.ndim != 2 or f.shape[1] != 3:
        raise EvalInputError(f"{name}: faces must be triangles (m, 3), got {f.shape}")
    f = f.astype(np.int64)
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise EvalInputError(f"{name}: face indices span [{f.min()}, {f.max()}] but there are {len(v)} vertices")
    return MeshData(v, f, name)


def read_obj(path: str | Path) -> MeshData:
    """OBJ vertices and faces exactly as listed (every ``v`` line, in order, referenced or not,
    as the H3DS toolbox reads them, so landmark/region vertex indices stay valid); polygons are
    fanned into triangles, ``vt``/``vn`` ignored. Raises EvalInputError."""
    path = Path(path)
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                if line.startswith("v "):
                    parts = line.split()
                    if len(parts) < 4:
                        raise EvalInputError(f"{path}:{i}: vertex line needs x y z: {line.strip()!r}")
                    verts.append([float(parts[1]), float(parts[2]), float(parts[3])])
                elif line.startswith("f "):
                    ids = []
                    for tok in line.split()[1:]:
                        k = int(tok.split("/")[0])
                        ids.append(k - 1 if k > 0 else len(verts) + k)
                    if len(ids) < 3:
                        raise EvalInputError(f"{path}:{i}: face with fewer than 3 vertices")
                    faces.extend([ids[0], ids[j], ids[j + 1]] for j in range(1, len(ids) - 1))
    except OSError as e:
        raise EvalInputError(f"{path}: cannot read mesh ({e.strerror or e})") from None
    except ValueError as e:
        if isinstance(e, EvalInputError):
            raise
        raise EvalInputError(f"{path}: malformed OBJ ({e})") from None
    if not verts:
        raise EvalInputError(f"{path}: mesh is empty (no 'v' lines)")
    return check_mesh(np.array(verts, dtype=np.float64), np.array(faces, dtype=np.int64).reshape(-1, 3), str(path))


def read_mesh(path: str | Path) -> MeshData:
    """Load a mesh file: OBJ with ``read_obj`` (vertices exactly as listed), others (PLY/GLB/OFF/STL)
    via trimesh without merging or reordering vertices. Scenes are concatenated. Raises EvalInputError."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: mesh file not found")
    if path.suffix.lower() == ".obj":
        return read_obj(path)
    try:
        loaded = trimesh.load(path, process=False, maintain_order=True)
    except Exception as e:  # trimesh raises many types on malformed files
        raise EvalInputError(f"{path}: cannot read mesh ({e.__class__.__name__}: {e})") from None
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)] if loaded.geometry else []
        if not geoms:
            raise EvalInputError(f"{path}: mesh is empty (no triangle geometry)")
        loaded = trimesh.util.concatenate(geoms)
    if isinstance(loaded, trimesh.PointCloud):
        return check_mesh(loaded.vertices, None, str(path))
    if not isinstance(loaded, trimesh.Trimesh):
        raise EvalInputError(f"{path}: not a triangle mesh ({type(loaded).__name__})")
    return check_mesh(loaded.vertices, loaded.faces, str(path))


def read_landmarks(path: str | Path, n_vertices: int | None = None) -> dict[str, int]:
    """Read an H3DS ``landmarks.txt`` (lines ``name vertex_index``) -> name -> vertex index."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalInputError(f"{path}: cannot read landmarks ({e})") from None
    out: dict[str, int] = {}
    for i, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 2:
            raise EvalInputError(f"{path}:{i}: expected 'name vertex_index', got {line!r}")
        try:
            out[parts[0]] = int(parts[1])
        except ValueError:
            raise EvalInputError(f"{path}:{i}: vertex index {parts[1]!r} is not an integer") from None
    if not out:
        raise EvalInputError(f"{path}: no landmarks found")
    if n_vertices is not None:
        bad = {k: v for k, v in out.items() if not 0 <= v < n_vertices}
        if bad:
            raise EvalInputError(f"{path}: landmark indices {bad} out of range for a mesh of {n_vertices} vertices")
    return out


def read_region(path: str | Path, n_vertices: int | None = None) -> np.ndarray:
    """Read a region file (one vertex index a line, H3DS ``regions/*.txt``) -> sorted unique int64."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalInputError(f"{path}: cannot read region ({e})") from None
    try:
        idx = np.array([int(float(t)) for t in text.split()], dtype=np.int64)
    except ValueError as e:
        raise EvalInputError(f"{path}: region file must hold integer vertex indices ({e})") from None
    return check_region(idx, n_vertices, str(path))


def check_region(indices, n_vertices: int | None, name: str = "region") -> np.ndarray:
    """Validate vertex indices: non-empty, integer, within ``[0, n_vertices)``."""
    idx = np.asarray(indices)
    if idx.size == 0:
        raise EvalInputError(f"{name}: region is empty (no vertex indices)")
    if idx.dtype == bool:
        if n_vertices is not None and len(idx) != n_vertices:
            raise EvalInputError(f"{name}: boolean mask has {len(idx)} entries for {n_vertices} vertices")
        idx = np.flatnonzero(idx)
        if idx.size == 0:
            raise EvalInputError(f"{name}: region is empty (mask selects nothing)")
    idx = idx.astype(np.int64).ravel()
    if n_vertices is not None and (idx.min() < 0 or idx.max() >= n_vertices):
        n_bad = int(((idx < 0) | (idx >= n_vertices)).sum())
        raise EvalInputError(f"{name}: {n_bad} vertex indices out of range [0, {n_vertices}) "
                             f"(span {idx.min()}..{idx.max()}); is it the region of another mesh?")
    return np.unique(idx)


def parse_point(text: str, name: str = "point") -> np.ndarray:
    """Parse ``'x,y,z'`` into a finite (3,) array."""
    try:
        p = np.array([float(t) for t in text.replace(" ", "").split(",")], dtype=np.float64)
    except ValueError:
        raise EvalInputError(f"{name}: expected 'x,y,z', got {text!r}") from None
    if p.shape != (3,) or not np.isfinite(p).all():
        raise EvalInputError(f"{name}: expected three finite numbers 'x,y,z', got {text!r}")
    return p


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename onto ``path`` on success.

    ``eval`` imports nothing from ``neuhead`` or ``meshing`` (it is usable on its own), so it keeps this one
    small writer instead of meshing's ``atomic_paths``; it gives the file the mode ``open()`` would.

    An ``OSError`` (disk full, read-only folder, a file where a folder should be) becomes an
    ``EvalInputError`` naming ``path``; the temporary file is always removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise EvalInputError(f"{path}: cannot be written ({e.strerror or e})") from e
    tmp = Path(name)
    try:
        yield tmp
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600
        os.replace(tmp, path)
    except OSError as e:
        raise EvalInputError(f"{path}: cannot be written ({e.strerror or e})") from e
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
