"""Photo projection of the texture bake: an analytic sphere with a known texture, photographed by a known
camera (ray-sphere hits, exact colours), is baked from that photo and rendered back."""

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from eval.images import masked_psnr as psnr
from meshing import cleanup, shapes
from meshing.grid import GridConfig, dense_marching_cubes
from meshing.preview import camera_rays, look_at, render_textured
from meshing.texture import PhotoView, ProjectionConfig, TextureConfig, bake_texture, edge_weight_map

R = 0.6
FIELD = np.array([0.2, 0.3, 0.25], np.float32)


def known_texture(p):
    """A sharp colour pattern on the sphere (stripes at a few px per period in the photo)."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([0.5 + 0.4 * np.sin(25 * p[:, 0]), 0.5 + 0.4 * np.sin(21 * p[:, 1] + 1.0),
                     0.5 + 0.4 * np.cos(17 * (p[:, 0] + p[:, 2]))], 1).astype(np.float32)


def field_color(points, normals):
    return np.broadcast_to(FIELD, (len(points), 3)).copy()


def photograph(K, c2w, size):
    """Exact image of the analytic sphere (ray-sphere hit, the known texture), and its mask."""
    o, d = camera_rays(K, c2w, size, size)
    b = (o * d).sum(1)
    disc = b * b - ((o * o).sum(1) - R * R)
    hit = disc > 0
    t = -b - np.sqrt(np.where(hit, disc, 0))
    img = np.ones((size * size, 3), np.float32)
    img[hit] = known_texture(o[hit] + t[hit, None] * d[hit])
    return img.reshape(size, size, 3), hit.reshape(size, size).astype(np.float32)


@pytest.fixture(scope="module")
def scene():
    m = dense_marching_cubes(shapes.sphere_sdf(R), GridConfig(resolution=96))
    v, f = cleanup.decimate(m.vertices, m.faces, 20000)
    size = 192
    fpx = 260.0
    K = np.array([[fpx, 0, size / 2], [0, fpx, size / 2], [0, 0, 1]])
    c2w = look_at([0.0, 0.4, 2.6])
    img, mask = photograph(K, c2w, size)
    baked = bake_texture(v, f, field_color, TextureConfig(size=1024), views=[PhotoView(img, K, c2w, mask)])
    return v, f, K, c2w, img, mask, baked


def test_projected_texture_reproduces_the_photo(scene):
    v, f, K, c2w, img, mask, baked = scene
    um = baked.mesh
    assert baked.source == "photo" and 0.1 < baked.photo_fraction < 0.6
    out, hit = render_textured(um.vertices, um.faces, um.uv, baked.texture, K, c2w, img.shape[1], img.shape[0])
    inner = binary_erosion(hit & (mask > 0.5), iterations=4)
    assert psnr(out, img, inner) > 30.0
    # the texture itself, at surface points the photo sees head-on, is the known texture
    rng = np.random.default_rng(0)
    fi = rng.integers(0, len(um.faces), 40000)
    b = rng.dirichlet([1, 1, 1], 40000)[..., None]
    p = (um.vertices[um.faces[fi]] * b).sum(1)
    uv = (um.uv[um.faces[fi]] * b).sum(1)
    front = (p / np.linalg.norm(p, axis=1, keepdims=True)) @ (c2w[:3, 3] / np.linalg.norm(c2w[:3, 3])) > 0.7
    from meshing.texture import sample_texture

    assert psnr(sample_texture(baked.texture, uv[front]), known_texture(p[front])) > 28.0
    # a field-only bake of the same mesh is far off (the test would catch a bake that ignores the photo)
    assert psnr(np.broadcast_to(FIELD, img.shape), img, inner) < 15.0


def test_texels_no_camera_sees_come_from_the_field(scene):
    v, f, K, c2w, img, mask, baked = scene
    um = baked.mesh
    rng = np.random.default_rng(1)
    t = um.uv[um.faces]
    charted = np.flatnonzero(np.abs(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])) > 0)  # xatlas leaves degenerate faces at uv 0
    fi = charted[rng.integers(0, len(charted), 40000)]
    b = rng.dirichlet([1, 1, 1], 40000)[..., None]
    p = (um.vertices[um.faces[fi]] * b).sum(1)
    uv = (um.uv[um.faces[fi]] * b).sum(1)
    from meshing.texture import sample_texture

    back = (p / np.linalg.norm(p, axis=1, keepdims=True)) @ (c2w[:3, 3] / np.linalg.norm(c2w[:3, 3])) < -0.7
    assert back.sum() > 1000
    np.testing.assert_allclose(sample_texture(baked.texture, uv[back]), np.broadcast_to(FIELD, (back.sum(), 3)),
                               atol=2.5 / 255)
    # the photo confidence is 0 there, and with no offset diffusion every unseen texel is exactly the field's
    w = baked.photo_weight
    assert w.max() == pytest.approx(1.0) and w.min() == 0.0
    exact = bake_texture(v, f, field_color, TextureConfig(size=256), views=[PhotoView(img, K, c2w, mask)],
                         projection=ProjectionConfig(offset_length=0.0))
    unseen = exact.photo_weight == 0
    from meshing.texture import rasterize_atlas

    charted = rasterize_atlas(exact.mesh.uv, exact.mesh.faces, 256, border=0.0).face >= 0
    sel = unseen & charted
    assert sel.sum() > 1000
    np.testing.assert_array_equal(exact.texture[sel], np.broadcast_to((FIELD * 255 + 0.5).astype(np.uint8),
                                                                        (sel.sum(), 3)))


def test_blend_has_no_band():
    """Across the boundary of the photographed region the texture changes smoothly: the photo confidence
    rises over several pixels from every silhouette or occlusion edge, never in one step."""
    hit = np.zeros((64, 64), bool)
    hit[8:56, 8:56] = True
    depth = np.where(hit, 2.0, np.inf)
    depth[8:56, 32:56] = 1.0  # an occlusion edge down the middle
    w = edge_weight_map(hit, depth, None, ProjectionConfig(edge_px=4.0))
    assert w[0, 0] == 0 and w[30, 20] == pytest.approx(1.0)
    row = w[30]
    assert np.abs(np.diff(row)).max() < 0.6  # no jump from 0 to 1
    assert row[32] < 0.5 and row[31] < 0.5  # zero-ish at the occlusion edge on both sides
