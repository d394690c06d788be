"""Units and axis conventions of exported files.

The scene's world frame has ``world_units`` (H3DS: millimetres) and some axis pointing up. Exports
are written in a target frame: glTF is always metres, +Y up, +Z front (the spec); OBJ and PLY take
the units and up axis the user asks for. :class:`Conversion` states the map that was applied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from meshing.errors import ExportError

#: metres per unit; "unit" (unknown scale) is taken as metres and said so in the report
METRES = {"mm": 1e-3, "cm": 1e-2, "m": 1.0, "unit": 1.0}
#: world units per millimetre of each named unit (the inverse view of METRES; "unit" has no size)
UNITS_PER_MM = {u: METRES["mm"] / m for u, m in METRES.items() if u != "unit"}
AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1)}


@dataclass(frozen=True)
class Conversion:
    """world frame → file frame: ``p_file = scale · R · p_world`` (``matrix`` is that 4×4)."""

    from_units: str
    """units of the scene's world frame"""
    to_units: str
    """units of the file's coordinates"""
    scale: float
    """file units per world unit"""
    world_up: str
    """world axis that points up in the scene"""
    world_front: str
    """world axis the head looks along"""
    file_up: str
    """axis that points up in the file"""
    file_front: str
    """axis the head looks along in the file"""
    matrix: tuple
    """4×4 row-major world → file transform (rotation times scale)"""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["matrix"] = [list(r) for r in self.matrix]
        return d


def check_units(units: str, what: str = "units") -> str:
    if units not in METRES:
        raise ExportError(f"unknown {what} {units!r}; expected one of {', '.join(METRES)}")
    return units


def _axis(name: str) -> np.ndarray:
    if name not in AXES:
        raise ExportError(f"unknown axis {name!r}; expected one of {', '.join(AXES)}")
    return np.array(AXES[name], dtype=np.float64)


def conversion(world_units: str, to_units: str, world_up: str = "+y", world_front: str = "+z",
               file_up: str = "+y", file_front: str = "+z") -> Conversion:
    """The rotation taking (world_up, world_front) to (file_up, file_front), times the unit scale."""
    check_units(world_units, "world units")
    check_units(to_units)
    basis = []
    for up, front in ((world_up, world_front), (file_up, file_front)):
        u, f = _axis(up), _axis(front)
        if abs(u @ f) > 0:
            raise ExportError(f"up axis {up} and front axis {front} must be perpendicular")
        basis.append(np.stack([np.cross(u, f), u, f], 1))  # columns: right, up, front
    rot = basis[1] @ basis[0].T
    scale = METRES[world_units] / METRES[to_units]
    m = np.eye(4)
    m[:3, :3] = scale * rot
    return Conversion(from_units=world_units, to_units=to_units, scale=scale, world_up=world_up,
                      world_front=world_front, file_up=file_up, file_front=file_front,
                      matrix=tuple(tuple(float(x) for x in r) for r in m))


def similarity_scale(matrix: np.ndarray) -> float:
    """Uniform scale of a 4×4 similarity transform (``|det R|^(1/3)``); raises if it is not one."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ExportError(f"to_world must be a finite (4, 4) matrix, got shape {m.shape}")
    a = m[:3, :3]
    s = abs(np.linalg.det(a)) ** (1.0 / 3.0)
    if s < 1e-12 or not np.allclose(a.T @ a, s * s * np.eye(3), rtol=1e-4, atol=1e-9 * s * s):
        raise ExportError("to_world is not a similarity transform (rotation, uniform scale, translation)")
    return float(s)
