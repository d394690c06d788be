"""The acceptance check of the bake: render the textured, decimated mesh from a camera and compare with
the colour field at the true surface seen by the same camera (sphere-traced SDF)."""

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from eval.images import masked_psnr as psnr
from meshing import cleanup, shapes
from meshing.grid import GridConfig, hierarchical_marching_cubes
from meshing.preview import camera_rays, look_at, render_textured, sphere_trace, turntable
from meshing.texture import TextureConfig, bake_texture


@pytest.fixture(scope="module")
def baked():
    sdf = shapes.torus_sdf(0.5, 0.2)
    m = hierarchical_marching_cubes(sdf, GridConfig(resolution=96))
    v, f = cleanup.decimate(m.vertices, m.faces, 8000)
    return sdf, bake_texture(v, f, shapes.position_color, TextureConfig(size=512))


def test_look_at_is_opencv():
    c2w = look_at([0, 0, 3.0], [0, 0, 0], [0, 1, 0])
    np.testing.assert_allclose(c2w[:3, :3], np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    K = np.array([[50.0, 0, 32], [0, 50.0, 32], [0, 0, 1]])
    o, d = camera_rays(K, c2w, 64, 64)
    want = np.array([0.01, -0.01, -1.0])  # pixel centre (32.5, 32.5): (+0.01, +0.01, 1) in the camera
    np.testing.assert_allclose(d[32 * 64 + 32], want / np.linalg.norm(want), atol=1e-9)
    np.testing.assert_allclose(o[0], [0, 0, 3.0])


def test_textured_render_matches_the_field(baked):
    sdf, t = baked
    um = t.mesh
    K = np.array([[110.0, 0, 64], [0, 110.0, 64], [0, 0, 1]])
    c2w = look_at([0.4, 1.6, 2.2])
    img, hit = render_textured(um.vertices, um.faces, um.uv, t.texture, K, c2w, 128, 128)
    o, d = camera_rays(K, c2w, 128, 128)
    pts, ref_hit = sphere_trace(sdf, o, d, near=1.0, far=4.5)
    ref = np.zeros((128 * 128, 3), np.float32)
    ref[ref_hit] = shapes.position_color(pts[ref_hit])
    ref_hit = ref_hit.reshape(128, 128)
    assert (hit != ref_hit).mean() < 0.01  # the silhouettes agree
    inner = binary_erosion(hit & ref_hit, iterations=1)
    value = psnr(img, ref.reshape(128, 128, 3), inner)
    assert value > 35.0, value


def test_turntable_shape(baked):
    _, t = baked
    tt = turntable(t.mesh.vertices, t.mesh.faces, t.mesh.uv, t.texture, views=3, size=64)
    assert tt.shape == (64, 192, 3)
    tiles = [tt[:, 64 * i: 64 * (i + 1)] for i in range(3)]
    bg = tiles[0][0, 0]
    fg = [np.abs(x - bg).sum(-1) > 0.05 for x in tiles]
    for m in fg:  # the whole object in every view, not cut off and not a blank tile
        assert 0.05 < m.mean() < 0.9
        assert not (m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())
    # the views go round: each one differs from the others
    assert min(np.abs(tiles[i] - tiles[j]).mean() for i in range(3) for j in range(i + 1, 3)) > 0.01
    # and shows the baked texture (the position colour of a torus spans many hues)
    assert np.ptp(tiles[0][fg[0]], axis=0).min() > 0.2
