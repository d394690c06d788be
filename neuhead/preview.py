"""Preview PNGs of a fit: each input view beside the fitted render, and a turntable strip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuhead.cameras import Cameras, intrinsics, look_at
from neuhead.data.scene import Scene
from neuhead.io import write_png
from neuhead.reconstruction import Reconstruction


def _downscaled(cams: Cameras, max_size: int) -> tuple[Cameras, float]:
    f = min(1.0, max_size / max(cams.width, cams.height))
    K = cams.K.copy()
    K[:, :2] *= f
    return Cameras(K, cams.c2w, max(1, round(cams.width * f)), max(1, round(cams.height * f))), f


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    a = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(a.resize((w, h), Image.Resampling.BOX), dtype=np.float32) / 255.0


def input_comparisons(recon: Reconstruction, scene: Scene, max_size: int = 192, max_views: int = 3) -> list[np.ndarray]:
    """For the first ``max_views`` input views: [input photo | fitted render (white background)], at most
    ``max_size`` px high."""
    cams = recon.cameras if recon.cameras is not None else scene.cameras
    small, _ = _downscaled(cams, max_size)
    out = []
    for i in range(min(len(scene), max_views)):
        r = recon.render(small, index=i, world=False)
        render = r["rgb"] + (1.0 - r["opacity"][..., None])
        photo = _resize(scene.images[i], small.width, small.height)
        out.append(np.concatenate([photo, np.clip(render, 0, 1)], axis=1))
    return out


def turntable(recon: Reconstruction, scene: Scene, n: int = 6, size: int = 112) -> np.ndarray:
    """n renders around the vertical axis of the unit sphere (white background), side by side.

    The axis is the first camera's up direction, snapped to the frame's ±Y when the camera is upright
    (canonical head frames are +Y up); the distance is the first camera's, the field of view frames the unit sphere.
    """
    cams = recon.cameras if recon.cameras is not None else scene.cameras
    up = -cams.c2w[0, :3, 1]
    if abs(up[1]) > 0.7:  # an upright camera: turn about the frame's own vertical axis
        up = np.array([0.0, np.sign(up[1]), 0.0])
    up = up / np.linalg.norm(up)
    start = cams.c2w[0, :3, 3]
    dist = max(1.5, float(np.linalg.norm(start)))
    fov = 2 * np.degrees(np.arcsin(min(0.99, 1.05 / dist)))
    # an orthonormal frame around "up", starting at the first camera's azimuth
    a = start - up * (start @ up)
    a = a / (np.linalg.norm(a) + 1e-12) if np.linalg.norm(a) > 1e-6 else np.cross(up, [1.0, 0, 0])
    b = np.cross(up, a)
    c2ws = [look_at(dist * (np.cos(t) * a + np.sin(t) * b), np.zeros(3), up)
            for t in np.linspace(0, 2 * np.pi, n, endpoint=False)]
    K = intrinsics(fov, size, size)
    ring = Cameras(np.repeat(K[None], n, 0), np.stack(c2ws), size, size)
    frames = []
    for i in range(n):
        r = recon.render(ring, index=i, world=False)
        frames.append(np.clip(r["rgb"] + (1.0 - r["opacity"][..., None]), 0, 1))
    return np.concatenate(frames, axis=1)


def write_previews(recon: Reconstruction, scene: Scene, out_dir: str | Path, turntable_views: int = 6) -> list[Path]:
    """``preview_view{i}.png`` per input view and ``turntable.png``, written atomically."""
    out_dir = Path(out_dir)
    paths = []
    for i, img in enumerate(input_comparisons(recon, scene)):
        p = out_dir / f"preview_view{i}.png"
        write_png(p, img)
        paths.append(p)
    p = out_dir / "turntable.png"
    write_png(p, turntable(recon, scene, turntable_views))
    paths.append(p)
    return paths
