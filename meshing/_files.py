"""Atomic file writes (temp name in the same folder, then rename) for the meshing outputs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from meshing.errors import ExportError


def file_mode() -> int:
    """The mode a plain ``open()`` gives a new file (0o666 minus the umask); ``mkstemp`` makes 0600.

    Read from ``/proc/self/status`` where it exists, so the process umask is never touched; elsewhere it
    is read by setting and restoring it, at call time (never at import)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def probe_writable(folder: str | Path) -> str | None:
    """None when a file can be created in the existing ``folder``, else the reason. A real file is
    created and removed: ``os.access`` says yes to root on a read-only mount. The one writability probe."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".neuhead-probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return e.strerror or str(e)
    return None


def check_writable(path: str | Path) -> Path:
    """Create ``path``'s folder if needed and check a file can be written there; ExportError otherwise."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ExportError(f"{path}: is a folder, expected a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{path}: cannot be written ({e.strerror or e})") from None
    reason = probe_writable(path.parent)
    if reason:
        raise ExportError(f"{path}: cannot be written ({reason})")
    return path


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = " ".join(str(e).split())
    return "No space left on device" if ("No space left" in text or "StorageFull" in text) else (text or type(e).__name__)


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Yield temporary paths beside ``paths``; rename them all into place only if the block succeeds.

    Renames happen after everything was written, so a failure while writing leaves no output at all.
    An ``OSError`` (disk full, read-only folder) while writing or renaming becomes an ``ExportError``
    naming the file; every temporary file is removed.
    """
    finals = [Path(p) for p in paths]
    tmps: list[Path] = []
    current = finals[0] if finals else Path(".")
    try:
        for p in finals:
            current = p
            fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".tmp{p.suffix}", dir=p.parent)
            os.close(fd)
            tmps.append(Path(tmp))
        current = finals[0] if finals else current
        try:
            yield tmps
        except OSError as e:
            named = [p for t, p in zip(tmps, finals) if e.filename is not None and str(t) == str(e.filename)]
            if named:
                current = named[0]
            elif len(finals) > 1:
                raise ExportError(f"{finals[0]} (with {', '.join(p.name for p in finals[1:])}): cannot be "
                                  f"written ({_reason(e)})") from e
            raise
        for tmp, p in zip(tmps, finals):
            current = p
            os.chmod(tmp, file_mode())
            os.replace(tmp, p)
    except OSError as e:
        raise ExportError(f"{current}: cannot be written ({_reason(e)})") from e
    finally:
        for tmp in tmps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Single-file form of :func:`atomic_paths`."""
    with atomic_paths([path]) as (tmp,):
        yield tmp
