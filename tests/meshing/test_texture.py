import numpy as np
import pytest

from meshing import cleanup, shapes
from meshing.grid import GridConfig, dense_marching_cubes
from meshing.texture import TextureConfig, bake_texture, dilate, rasterize_atlas, sample_texture


@pytest.fixture(scope="module")
def torus():
    m = dense_marching_cubes(shapes.torus_sdf(0.5, 0.2), GridConfig(resolution=64))
    return cleanup.decimate(m.vertices, m.faces, 3000)


def _psnr(a, b):
    return -10 * np.log10(np.mean((a - b) ** 2))


def test_baked_texture_matches_the_colour_field(torus):
    v, f = torus
    t = bake_texture(v, f, shapes.position_color, TextureConfig(size=512))
    um = t.mesh
    assert t.texture.shape == (512, 512, 3) and t.texture.dtype == np.uint8
    assert 0.3 < t.coverage < 0.95
    np.testing.assert_allclose(um.vertices, v[um.source])
    # colour at random points of random faces (bilinear texture lookup) vs the field at the same points
    rng = np.random.default_rng(0)
    fi = rng.integers(0, len(um.faces), 20000)
    b = rng.dirichlet([1, 1, 1], 20000)[..., None]
    uv = (um.uv[um.faces[fi]] * b).sum(1)
    p = (um.vertices[um.faces[fi]] * b).sum(1)
    assert _psnr(sample_texture(t.texture, uv), shapes.position_color(p)) > 40.0
    # at the vertices (chart corners, where seams would show) it still holds
    assert _psnr(sample_texture(t.texture, um.uv), shapes.position_color(um.vertices)) > 35.0


def test_rasterize_one_triangle():
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    atlas = rasterize_atlas(uv, np.array([[0, 1, 2]]), 64, border=0.0)
    inside = atlas.face >= 0
    assert abs(inside.sum() - 64 * 64 / 2) <= 64  # half the texels, up to the diagonal
    # texel (row 63, col 0) is at uv (0.5/64, 0.5/64): barycentrics ≈ (1, 0, 0)
    np.testing.assert_allclose(atlas.bary[63, 0], [1 - 1 / 64, 0.5 / 64, 0.5 / 64], atol=1e-5)
    assert not inside[0, 63]
    wide = rasterize_atlas(uv, np.array([[0, 1, 2]]), 64, border=1.0)
    assert (wide.face >= 0).sum() > inside.sum()
    assert np.all(wide.bary >= 0) and np.allclose(wide.bary[wide.face >= 0].sum(-1), 1, atol=1e-5)


def test_dilate_grows_and_fills():
    img = np.zeros((16, 16, 3), np.float32)
    mask = np.zeros((16, 16), bool)
    img[8, 8] = [1.0, 0.5, 0.25]
    mask[8, 8] = True
    out = dilate(img, mask, 2)
    np.testing.assert_allclose(out[6:11, 6:11], np.broadcast_to([1.0, 0.5, 0.25], (5, 5, 3)))
    np.testing.assert_allclose(out[0, 0], [1.0, 0.5, 0.25])  # the rest gets the mean colour
