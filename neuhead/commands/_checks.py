"""Option checks the subcommands run before any work starts.

Each raises ``InputError`` with one line that names the option (or the file) and what is wrong, and
none of them creates, changes or leaves anything on disk: a refused command leaves its output
folder exactly as it was.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from meshing.extract import OUTPUT_RESOLUTION
from neuhead.errors import InputError

MIN_RESOLUTION = 32
"""smallest marching-cubes grid a subcommand accepts (below it a head is a handful of voxels)"""


def at_least(option: str, value, minimum, what: str = "") -> None:
    """``value`` (skipped when None) must be a finite number >= ``minimum``."""
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < minimum:
        raise InputError(f"{option} {value}: must be {'an integer' if isinstance(minimum, int) else 'a number'} "
                         f">= {minimum}{what}")


def positive(option: str, value, what: str = "") -> None:
    """``value`` (skipped when None) must be a finite number > 0."""
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} {value}: must be > 0{what}")


def resolution(option: str, value) -> None:
    """A marching-cubes resolution: an integer >= ``MIN_RESOLUTION``."""
    at_least(option, value, MIN_RESOLUTION, f" (cells per axis; {OUTPUT_RESOLUTION} is the default)")


def device(name: str, option: str = "--device") -> str:
    """The torch device ``name`` resolved and checked: "auto" -> cuda if available else cpu; "cpu";
    "cuda" / "cuda:N" only when CUDA is available (and N exists); "mps" only when available."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise InputError(f"{option} {name!r}: not a device (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cpu":
        return name
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise InputError(f"{option} {name}: CUDA is not available ({why}, torch {torch.__version__}); "
                             f"use --device cpu")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise InputError(f"{option} {name}: there is no GPU {dev.index} (found {n})")
        return name
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise InputError(f"{option} {name}: Apple MPS is not available here; use --device cpu")
        return name
    raise InputError(f"{option} {name}: device type {dev.type!r} is not supported (use cpu, cuda or auto)")


def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path) -> str | None:
    """None when a file can be created in the existing ``folder``, else the reason (meshing's one probe)."""
    from meshing._files import probe_writable

    return probe_writable(folder)


def _creatable(option: str, path: Path, target: Path) -> None:
    """``target`` (a folder that may not exist yet) could be created: its nearest existing ancestor
    is a writable folder."""
    anc = _existing_ancestor(target)
    if not anc.is_dir():
        raise InputError(f"{option} {path}: cannot be written, {anc} is a file, not a folder")
    reason = _probe(anc)  # a real file, created and removed: os.access says yes to root on a read-only mount
    if reason and anc == target:
        raise InputError(f"{option} {path}: folder cannot be written ({reason})")
    if reason:
        raise InputError(f"{option} {path}: cannot be created, {anc} is not writable ({reason})")


def output_dir(option: str, path: Path | None) -> None:
    """``path`` is a folder we can write into, or can be created (nothing is created here)."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: is a file, expected a folder")
    _creatable(option, path, path)


def output_file(option: str, path: Path | None, suffixes: tuple[str, ...] | None = None) -> None:
    """``path`` is a file we can write (its folder exists and is writable, or can be created);
    with ``suffixes``, its suffix is one of them."""
    if path is None:
        return
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(f"{option} {path}: unknown file type {path.suffix or '(no suffix)'!r} "
                         f"(use {', '.join(suffixes)})")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder, expected a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: file exists and is not writable")
    _creatable(option, path, path.parent)


def distinct(named_paths: list[tuple[str, Path | None]], outputs: list[tuple[str, Path | None]] | None = None) -> None:
    """No two outputs are the same file. With ``outputs``, ``named_paths`` are the inputs: no output
    may be one of them (it would overwrite an input), and no two outputs may coincide."""
    if outputs is None:
        named_paths, outputs = [], named_paths
    inputs = {Path(os.path.realpath(p)): f"{o} {p}" for o, p in named_paths if p is not None}
    seen: dict[Path, str] = {}
    for option, p in outputs:
        if p is None:
            continue
        key = Path(os.path.realpath(p))
        if key in inputs:
            raise InputError(f"{option} {p}: would overwrite the input {inputs[key]}")
        if key in seen:
            raise InputError(f"{option} {p}: the same file as {seen[key]}; give each output its own path")
        seen[key] = f"{option} {p}"


def existing(option: str, path: Path, kind: str = "file or folder") -> None:
    if not Path(path).exists():
        raise InputError(f"{option}{' ' if option else ''}{path}: no such {kind}")
