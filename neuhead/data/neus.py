"""NeuS / IDR scene folders: ``image/``, ``mask/``, ``cameras_sphere.npz`` (+ optional ``neuhead.json``
with the world units, which plain NeuS data lacks).

``world_mat_i`` projects world points to pixels, ``scale_mat_i`` maps the unit sphere to the world,
so ``P_i = world_mat_i @ scale_mat_i`` projects unit-sphere points; it is decomposed into K and c2w.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.scene import Scene
from neuhead.errors import InputError
from neuhead.io import atomic_path, list_images, read_image, read_mask, write_json, write_png


def decompose_projection(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a 3x4 projection ``K [R | t]`` into K (3, 3) with K[2,2] = 1 and c2w (4, 4)."""
    P = np.asarray(P, dtype=np.float64)[:3, :4]
    if not np.all(np.isfinite(P)) or abs(np.linalg.det(P[:, :3])) < 1e-12 * max(1.0, np.abs(P).max()) ** 3:
        raise ValueError("projection matrix is not invertible")
    K, R, t = cv2.decomposeProjectionMatrix(P)[:3]
    K = K / K[2, 2]
    c2w = np.eye(4)
    c2w[:3, :3] = R.T
    c2w[:3, 3] = (t[:3] / t[3])[:, 0]
    return K, c2w


def read_views(image_files: list[Path], mask_files: list[Path] | None, idx) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (n, H, W, 3) and masks (n, H, W) or None of the views ``idx``, all the same size;
    InputError naming the first file that is unreadable or of another size."""
    images, masks = [], []
    for i in idx:
        img = read_image(image_files[i])
        if images and img.shape != images[0].shape:
            raise InputError(f"{image_files[i]}: size {img.shape[1]}x{img.shape[0]} differs from the first image's")
        images.append(img)
        if mask_files is not None:
            m = read_mask(mask_files[i])
            if m.shape != img.shape[:2]:
                raise InputError(f"{mask_files[i]}: mask size {m.shape[1]}x{m.shape[0]} does not match its image "
                                 f"{img.shape[1]}x{img.shape[0]}")
            fg = m > 0.5
            if not fg.any():  # a small mask is fine (a far or side view); an empty one hides the head
                raise InputError(f"{mask_files[i]}: mask is empty (no white pixel); fix it or drop view {i} with --views")
            if fg.all():
                raise InputError(f"{mask_files[i]}: mask is all white (no background); all-white masks mean "
                                 "'no mask': remove the mask/ folder to fit without masks")
            masks.append(m)
    return np.stack(images), (np.stack(masks) if mask_files is not None else None)


def load_neus(folder: str | Path, views=None) -> Scene:
    """Load a NeuS/IDR case folder into a ``Scene`` (unit-sphere frame, ``to_world`` = scale_mat_0).

    ``views``: optional list of view indices to keep. Raises InputError naming the bad file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    cam_file = folder / "cameras_sphere.npz"
    if not cam_file.is_file():
        raise InputError(f"{cam_file}: missing (a NeuS scene needs cameras_sphere.npz)")
    image_files = list_images(folder / "image") if (folder / "image").is_dir() else []
    if not image_files:
        raise InputError(f"{folder / 'image'}: no images found")
    mask_files = list_images(folder / "mask") if (folder / "mask").is_dir() else []
    if mask_files and len(mask_files) != len(image_files):
        raise InputError(f"{folder / 'mask'}: {len(mask_files)} masks for {len(image_files)} images")
    try:
        cams = dict(np.load(cam_file, allow_pickle=False))
    except Exception as e:  # zip / format errors come in many classes
        raise InputError(f"{cam_file}: cannot read ({e.__class__.__name__}: {e})") from None

    n = len(image_files)
    idx = list(range(n)) if views is None else [int(v) for v in views]
    bad = [v for v in idx if not 0 <= v < n]
    if bad:
        raise InputError(f"{folder}: view indices {bad} out of range (scene has {n} images)")

    Ks, c2ws = [], []
    scale0 = None
    for i in idx:
        if f"world_mat_{i}" not in cams:
            raise InputError(f"{cam_file}: no world_mat_{i} for image {image_files[i].name}")
        W = np.asarray(cams[f"world_mat_{i}"], dtype=np.float64)
        S = np.asarray(cams.get(f"scale_mat_{i}", np.eye(4)), dtype=np.float64)
        if W.shape not in ((3, 4), (4, 4)) or S.shape != (4, 4):
            raise InputError(f"{cam_file}: world_mat_{i} / scale_mat_{i} have shapes {W.shape}, {S.shape}")
        if scale0 is None:
            scale0 = S
        elif not np.allclose(S, scale0, rtol=1e-6, atol=1e-9):
            raise InputError(f"{cam_file}: scale_mat_{i} differs from the first view's (one scale_mat per scene)")
        try:
            K, c2w = decompose_projection(W[:3] @ S)
        except (ValueError, cv2.error) as e:
            raise InputError(f"{cam_file}: camera {i} is not valid ({e})") from None
        Ks.append(K)
        c2ws.append(c2w)
    images, masks = read_views(image_files, mask_files or None, idx)
    h, w = images.shape[1:3]
    units = "unit"
    if (folder / "neuhead.json").is_file():
        try:
            units = str(json.loads((folder / "neuhead.json").read_text()).get("units", "unit"))
        except ValueError as e:
            raise InputError(f"{folder / 'neuhead.json'}: not valid JSON ({e})") from None
    return Scene(
        images=images,
        masks=masks,
        cameras=Cameras(np.stack(Ks), np.stack(c2ws), w, h),
        to_world=scale0,
        names=[image_files[i].stem for i in idx],
        units=units,
    )


def neus_camera_arrays(cameras: Cameras, to_world: np.ndarray) -> dict[str, np.ndarray]:
    """``world_mat_i`` / ``scale_mat_i`` arrays of unit-frame cameras (inverse of ``load_neus``)."""
    P = cameras.projection()  # (n, 3, 4) unit-sphere -> pixels
    S_inv = np.linalg.inv(to_world)
    out = {}
    for i in range(len(cameras)):
        W = np.eye(4)
        W[:3] = P[i] @ S_inv
        out[f"world_mat_{i}"] = W
        out[f"scale_mat_{i}"] = np.array(to_world, dtype=np.float64)
    return out


def write_cameras_npz(path: str | Path, cameras: Cameras, to_world: np.ndarray) -> None:
    """Write NeuS ``cameras_sphere.npz``-style camera arrays atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **neus_camera_arrays(cameras, to_world))


def write_neus(scene: Scene, folder: str | Path) -> Path:
    """Write a scene as a NeuS/IDR case folder (PNG images and masks, cameras_sphere.npz)."""
    folder = Path(folder)
    (folder / "image").mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(scene.images):
        write_png(folder / "image" / f"{i:03d}.png", img)
    if scene.masks is not None:
        (folder / "mask").mkdir(exist_ok=True)
        for i, m in enumerate(scene.masks):
            write_png(folder / "mask" / f"{i:03d}.png", m)
    write_cameras_npz(folder / "cameras_sphere.npz", scene.cameras, scene.to_world)
    write_json(folder / "neuhead.json", {"units": scene.units})
    return folder
