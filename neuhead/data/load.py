"""One entry point for every kind of input the fitting API takes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.pose import check_fov_y_deg
from neuhead.data.scene import Scene
from neuhead.errors import InputError
from neuhead.io import IMAGE_SUFFIXES, read_image, read_mask

if TYPE_CHECKING:
    from neuhead.data.placement import PlacementConfig


FRAMES = ("auto", "file")
"""``auto``: the canonical head frame found from the images (``neuhead.data.placement``); ``file``: the
file's own unit-sphere frame (NeuS ``scale_mat``), for non-head objects and the from-scratch baseline"""


def load_input(images, cameras: Cameras | None = None, masks=None, views: Sequence[int] | None = None,
               mask: str | Path | None = None, frame: str = "auto", units: str = "mm",
               fov_y_deg: float | None = None, placement: PlacementConfig | None = None) -> Scene:
    """A Scene from: a NeuS/IDR folder, an H3DS scene folder, one photo (path or array), or 1-3 images
    with ``cameras`` in the images' own world frame (in ``units``).

    ``views`` selects views of a folder; ``mask`` is a mask file and ``fov_y_deg`` the vertical field of view
    (deg; default: the photo's EXIF, else a camera 1 m from the head) for a single photo without cameras. ``frame`` (see
    ``FRAMES``): with "auto" every input with cameras is placed in the canonical head frame from its
    images alone; a photo without cameras always is (PnP at an assumed field of view). No ground-truth
    mesh or landmark file is read. ``placement`` (``neuhead.data.placement.PlacementConfig``, default its defaults)
    tunes the placement of inputs with cameras.
    """
    if frame not in FRAMES:
        raise InputError(f"--frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    check_fov_y_deg(fov_y_deg)
    single_photo = cameras is None and (not isinstance(images, (str, Path)) or not Path(images).is_dir())
    if fov_y_deg is not None and not single_photo:
        raise InputError(f"--fov {fov_y_deg}: only a single photo without cameras takes a field of view; "
                         "a scene folder or images with cameras have their own")
    if isinstance(images, (str, Path)) and Path(images).is_dir():
        folder = Path(images)
        if (folder / "cameras_sphere.npz").is_file():
            from neuhead.data.neus import load_neus

            return _placed(load_neus(folder, views=views), frame, str(folder), placement)
        if (folder / "cameras.npz").is_file() or (folder / "config.toml").is_file():
            return load_h3ds_placed(folder.parent, folder.name, views, frame, placement)
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
        from neuhead.data.photo import load_photo, photo_placement

        return photo_placement(load_photo(images[0], mask=mask if masks is None else masks, fov_y_deg=fov_y_deg))
    if units not in ("mm", "cm", "m", "unit"):
        raise InputError(f"units must be mm, cm, m or unit, got {units!r}")
    scene = _scene_from_arrays(images, cameras, masks, units)
    if frame == "file":
        from dataclasses import replace

        from neuhead.data.canonical import CANONICAL_TO_WORLD

        # the old behaviour: the cameras' world is taken to be the canonical head frame itself
        scene = replace(scene, cameras=scene.cameras.transformed(np.linalg.inv(CANONICAL_TO_WORLD)),
                        to_world=CANONICAL_TO_WORLD.copy())
    return _placed(scene, frame, "images", placement)


def load_h3ds_placed(root, scene_id: str, views, frame: str = "auto",
                     placement: PlacementConfig | None = None) -> Scene:
    """An H3DS scene read without its ground truth (no ``full_head.obj``, no ``landmarks.txt``), placed by
    ``frame``: the one reader of ``neuhead fit`` and ``neuhead bench h3ds``."""
    from neuhead.data.h3ds import load_h3ds_scene

    scene = load_h3ds_scene(root, scene_id, views=views, with_landmarks=False, require_scale_mat=frame == "file")
    return _placed(scene, frame, f"{root}/{scene_id}", placement)


def _placed(scene: Scene, frame: str, where: str, placement: PlacementConfig | None = None) -> Scene:
    from neuhead.data.placement import PlacementConfig, file_placement, place_scene

    return place_scene(scene, where, placement or PlacementConfig()) if frame == "auto" else file_placement(scene)


def _scene_from_arrays(images, cameras: Cameras, masks, units: str = "mm") -> Scene:
    """A Scene whose unit-sphere frame is the world itself (``to_world = I``) until it is placed."""
    imgs = np.stack([read_image(p) if isinstance(p, (str, Path)) else np.asarray(p, np.float32) for p in images])
    if len(cameras) != len(imgs):
        raise InputError(f"{len(imgs)} images but {len(cameras)} cameras")
    m = None
    if masks is not None:
        m = np.stack([read_mask(p) if isinstance(p, (str, Path)) else np.asarray(p, np.float32) for p in masks])
        if m.shape != imgs.shape[:3]:
            raise InputError(f"masks have shape {m.shape}, images {imgs.shape[:3]}")
    return Scene(imgs, m, cameras, np.eye(4), units=units)
