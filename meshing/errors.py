"""Exceptions raised by :mod:`meshing` (all ``ValueError`` so a CLI can catch them as bad input)."""


class MeshingError(ValueError):
    """Something about the inputs makes meshing or exporting impossible; the message says what."""


class EmptyMeshError(MeshingError):
    """The SDF never crosses zero inside the grid, so there is no surface to mesh."""


class ExportError(MeshingError):
    """An export cannot be written: unknown format, unwritable path, bad option."""
