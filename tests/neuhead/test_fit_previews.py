"""preview.png / turntable.png / turntable.gif from a textured mesh: sizes, and the render lines up with the photo."""

import numpy as np
from PIL import Image

from meshing import cleanup, shapes
from meshing.grid import GridConfig, dense_marching_cubes
from meshing.preview import look_at
from meshing.texture import PhotoView, TextureConfig, bake_texture
from neuhead.cameras import Cameras
from neuhead.preview import PREVIEW_MIN_PX, TURNTABLE_PX, TURNTABLE_VIEWS, write_previews


def test_previews_show_the_textured_mesh_at_the_input_camera(tmp_path):
    m = dense_marching_cubes(shapes.sphere_sdf(0.5), GridConfig(resolution=48))
    v, f = cleanup.decimate(m.vertices, m.faces, 3000)
    K = np.array([[150.0, 0, 64], [0, 150.0, 64], [0, 0, 1]])
    c2w = look_at([0.0, 0.0, 2.5])
    cams = Cameras(K[None], c2w[None], 128, 128)
    # the "photo": a red disc where the sphere is (its silhouette radius is 150 * 0.5 / sqrt(2.5² - 0.25) ≈ 30.6 px)
    yy, xx = np.mgrid[:128, :128] + 0.5
    disc = ((xx - 64) ** 2 + (yy - 64) ** 2 < 30.0 ** 2).astype(np.float32)
    photo = np.ones((128, 128, 3), np.float32)
    photo[disc > 0] = [0.9, 0.1, 0.1]
    baked = bake_texture(v, f, lambda p, n: np.full((len(p), 3), 0.5, np.float32), TextureConfig(size=256),
                         views=[PhotoView(photo, K, c2w, disc)])
    paths = write_previews(baked, cams, photo[None], disc[None], tmp_path)
    assert [p.name for p in paths] == ["preview.png", "turntable.png", "turntable.gif"]
    prev = np.asarray(Image.open(paths[0]), np.float32) / 255
    assert prev.shape == (PREVIEW_MIN_PX, 2 * PREVIEW_MIN_PX, 3)
    left, right = prev[:, :PREVIEW_MIN_PX], prev[:, PREVIEW_MIN_PX:]
    red = lambda a: (a[..., 0] > 0.6) & (a[..., 1] < 0.35)  # noqa: E731
    inter = (red(left) & red(right)).sum() / max(1, (red(left) | red(right)).sum())
    assert inter > 0.9  # the mesh, rendered at the input camera, covers the photo's disc with its colour
    tt = Image.open(paths[1])
    assert tt.size == (TURNTABLE_VIEWS * TURNTABLE_PX, TURNTABLE_PX)
    gif = Image.open(paths[2])
    assert gif.n_frames > 8
