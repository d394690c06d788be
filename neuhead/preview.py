"""Previews of a fit, rendered from the textured mesh (what the user gets), not the field.

- ``preview.png``: one row per input view (up to ``MAX_PREVIEW_VIEWS``): the input photo beside the textured
  mesh rendered at the view's refined camera, each at least ``PREVIEW_MIN_PX`` px (photos are upsampled).
- ``turntable.png``: 8 shaded renders of the textured mesh around the head's vertical axis, ≥ 256 px each.
- ``turntable.gif``: the same turntable animated (``GIF_FRAMES`` frames, the PNG's renders among them).

Rendering is :func:`meshing.preview.render_textured` (numpy z-buffer + texture lookup): about a second for
all three files, against ≈ 26 s for the volume-rendered previews this replaced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuhead.io import atomic_path, write_png

PREVIEW_MIN_PX = 384
"""smallest side of each image in preview.png"""
MAX_PREVIEW_VIEWS = 4
"""input views shown in preview.png"""
TURNTABLE_VIEWS = 8
"""renders in turntable.png"""
TURNTABLE_PX = 256
"""side of each turntable render"""
GIF_FRAMES = 16
"""frames of turntable.gif (one turn; a multiple of TURNTABLE_VIEWS: the PNG's renders are every other frame)"""
BACKGROUND = 1.0
"""grey level behind the mesh"""


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    from PIL import Image

    a = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(a.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0


def input_comparisons(textured, cameras, images, masks=None, min_size: int = PREVIEW_MIN_PX,
                      max_views: int = MAX_PREVIEW_VIEWS) -> list[np.ndarray]:
    """[input photo (white outside its mask) | textured mesh at the same camera (white background)] per view.

    textured: a :class:`meshing.texture.TexturedMesh` in the cameras' frame; cameras: :class:`Cameras`;
    images: (n, H, W, 3); masks: (n, H, W) or None. Each side is scaled to at least ``min_size`` px.
    """
    from meshing.preview import render_textured

    um = textured.mesh
    s = max(1.0, min_size / min(cameras.width, cameras.height))
    W, H = round(cameras.width * s), round(cameras.height * s)
    rows = []
    for i in range(min(len(images), max_views)):
        K = cameras.K[i].copy()
        K[:2] *= np.array([W / cameras.width, H / cameras.height])[:, None]  # pixel centres scale with the image
        img, hit = render_textured(um.vertices, um.faces, um.uv, textured.texture, K, cameras.c2w[i], W, H)
        render = np.where(hit[..., None], img, BACKGROUND)
        photo = _resize(images[i], W, H)
        if masks is not None:
            m = _resize(np.repeat(masks[i][..., None], 3, -1), W, H)[..., :1]
            photo = photo * m + BACKGROUND * (1 - m)
        rows.append(np.concatenate([photo, render], axis=1))
    return rows


def ring_cameras(textured, up: np.ndarray, front: np.ndarray, n: int, size: int, elevation_deg: float = 10.0,
                 fov_deg: float = 30.0):
    """n OpenCV cameras (K (n, 3, 3), c2w (n, 4, 4)) around ``up`` through the mesh's centre, the first one
    in the ``front`` direction, framing the whole mesh."""
    from meshing.preview import look_at

    v = textured.mesh.vertices
    c = (v.min(0) + v.max(0)) / 2
    r = np.linalg.norm(v - c, axis=1).max()
    dist = r / np.sin(np.radians(fov_deg / 2)) * 1.02
    up = np.asarray(up, float) / np.linalg.norm(up)
    a = np.asarray(front, float) - up * (np.asarray(front, float) @ up)
    a = a / np.linalg.norm(a) if np.linalg.norm(a) > 1e-6 else np.cross(up, [1.0, 0, 0]) / np.linalg.norm(np.cross(up, [1.0, 0, 0]))
    b = np.cross(up, a)
    el = np.radians(elevation_deg)
    f = size / 2 / np.tan(np.radians(fov_deg / 2))
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    c2w = [look_at(c + dist * (np.cos(el) * (np.cos(t) * a + np.sin(t) * b) + np.sin(el) * up), c, up)
           for t in np.linspace(0, 2 * np.pi, n, endpoint=False)]
    return np.repeat(K[None], n, 0), np.stack(c2w)


def turntable_frames(textured, up, front, n: int = TURNTABLE_VIEWS, size: int = TURNTABLE_PX) -> list[np.ndarray]:
    """n shaded renders (size, size, 3) of the textured mesh around ``up``, starting from ``front``."""
    from meshing.preview import render_textured

    um = textured.mesh
    Ks, c2ws = ring_cameras(textured, up, front, n, size)
    out = []
    for K, c2w in zip(Ks, c2ws):
        img, hit = render_textured(um.vertices, um.faces, um.uv, textured.texture, K, c2w, size, size, shade=True)
        out.append(np.where(hit[..., None], img, BACKGROUND))
    return out


def head_axes(cameras) -> tuple[np.ndarray, np.ndarray]:
    """(up, front) of the head in the unit frame: the first camera's up (snapped to ±Y when it is upright —
    canonical head frames are +Y up) and the direction from the head to that camera."""
    up = -cameras.c2w[0, :3, 1]
    if abs(up[1]) > 0.7:
        up = np.array([0.0, np.sign(up[1]), 0.0])
    return up / np.linalg.norm(up), cameras.c2w[0, :3, 3]


def write_previews(textured, cameras, images, masks, out_dir: str | Path, gif: bool = True) -> list[Path]:
    """``preview.png``, ``turntable.png`` (and ``turntable.gif``) of ``textured`` in ``out_dir``, atomically."""
    out_dir = Path(out_dir)
    paths = [out_dir / "preview.png", out_dir / "turntable.png"]
    write_png(paths[0], np.concatenate(input_comparisons(textured, cameras, images, masks), axis=0))
    up, front = head_axes(cameras)
    n = GIF_FRAMES if gif else TURNTABLE_VIEWS
    ring = turntable_frames(textured, up, front, n, TURNTABLE_PX)
    write_png(paths[1], np.concatenate(ring[:: n // TURNTABLE_VIEWS], axis=1))
    if gif:
        from PIL import Image

        frames = [Image.fromarray((np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)) for f in ring]
        p = out_dir / "turntable.gif"
        with atomic_path(p) as tmp:
            frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
        paths.append(p)
    return paths
