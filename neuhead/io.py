"""Small file helpers: image reading with clear errors, atomic writes, safe weights I/O."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from neuhead.errors import InputError, WriteError, write_failure_reason

try:
    from safetensors import SafetensorError
except ImportError:  # pragma: no cover - safetensors is a dependency
    SafetensorError = OSError

#: what a failed write raises: the OS's errors, and safetensors' own class (it wraps ENOSPC)
_WRITE_ERRORS = (OSError, SafetensorError)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """RGB float32 (H, W, 3) in [0, 1]; raises InputError naming the file if it cannot be read."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"{path}: cannot read image ({e.__class__.__name__}: {e})") from None


def read_mask(path: str | Path) -> np.ndarray:
    """Mask float32 (H, W) in [0, 1] (white = foreground; the first channel of an RGB mask)."""
    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("L") if im.mode not in ("L", "1", "I", "I;16") else im, dtype=np.float32)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read mask ({e.__class__.__name__}: {e})") from None
    return (a / (a.max() if a.max() > 1 else 1.0)).clip(0, 1)


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The one implementation is ``meshing._files.atomic_paths``; this form creates the folder, also catches
    safetensors' own error class (it wraps ENOSPC) and raises ``WriteError`` naming ``path``. The temporary
    file is always removed, so ``path`` is either its old self or complete."""
    from meshing._files import atomic_path as _atomic
    from meshing.errors import ExportError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _atomic(path) as tmp:
            try:
                yield tmp
            except SafetensorError as e:
                raise OSError(write_failure_reason(e)) from e
    except OSError as e:  # the folder could not be made
        raise WriteError(f"{path}: cannot be written ({write_failure_reason(e)})") from e
    except ExportError as e:
        raise WriteError(str(e)) from e.__cause__


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write a float [0, 1] (H, W[, 3]) or uint8 array as PNG, atomically."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(a).save(tmp, format="PNG")


def write_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default))


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def check_writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check we can write there; InputError otherwise."""
    from meshing._files import probe_writable

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{path}: output folder cannot be written ({e.strerror or e})") from None
    reason = probe_writable(path)
    if reason:
        raise InputError(f"{path}: output folder cannot be written ({reason})")
    return path


