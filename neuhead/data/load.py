"""One entry point for every kind of input the fitting API takes."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.scene import Scene
from neuhead.errors import InputError
from neuhead.io import IMAGE_SUFFIXES, read_image, read_mask


def load_input(images, cameras: Cameras | None = None, masks=None, views: Sequence[int] | None = None,
               mask: str | Path | None = None) -> Scene:
    """A Scene from: a NeuS/IDR folder, an H3DS scene folder, one photo (path or array), or 1-3 images
    with ``cameras`` given in the canonical head frame (mm; see ``neuhead.data.canonical``).

    ``views`` selects views of a folder; ``mask`` is a mask file for a single photo.
    """
    if isinstance(images, (str, Path)) and Path(images).is_dir():
        folder = Path(images)
        if (folder / "cameras_sphere.npz").is_file():
            from neuhead.data.neus import load_neus

            return load_neus(folder, views=views)
        if (folder / "cameras.npz").is_file() or (folder / "config.toml").is_file():
            from neuhead.data.h3ds import load_h3ds_scene

            return load_h3ds_scene(folder.parent, folder.name, views=views, canonical=True)
        raise InputError(f"{folder}: neither a NeuS folder (cameras_sphere.npz) nor an H3DS scene (cameras.npz)")
    if isinstance(images, (str, Path)) or (isinstance(images, np.ndarray) and images.ndim == 3):
        images = [images]
    images = list(images)
    if not 1 <= len(images) <= 3 and cameras is None:
        raise InputError(f"expected 1 to 3 photos, got {len(images)}")
    for p in images:
        if isinstance(p, (str, Path)) and Path(p).suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"{p}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
    if cameras is None:
        if len(images) != 1:
            raise InputError(f"{len(images)} photos without cameras: pass cameras, or fit one photo at a time")
        from neuhead.data.photo import load_photo

        return load_photo(images[0], mask=mask if masks is None else masks).scene
    return _scene_from_arrays(images, cameras, masks)


def _scene_from_arrays(images, cameras: Cameras, masks) -> Scene:
    from neuhead.data.canonical import CANONICAL_TO_WORLD

    imgs = np.stack([read_image(p) if isinstance(p, (str, Path)) else np.asarray(p, np.float32) for p in images])
    if len(cameras) != len(imgs):
        raise InputError(f"{len(imgs)} images but {len(cameras)} cameras")
    m = None
    if masks is not None:
        m = np.stack([read_mask(p) if isinstance(p, (str, Path)) else np.asarray(p, np.float32) for p in masks])
        if m.shape != imgs.shape[:3]:
            raise InputError(f"masks have shape {m.shape}, images {imgs.shape[:3]}")
    return Scene(imgs, m, cameras.transformed(np.linalg.inv(CANONICAL_TO_WORLD)), CANONICAL_TO_WORLD.copy(), units="mm")
