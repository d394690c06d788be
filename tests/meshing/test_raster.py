"""The numpy z-buffer against Open3D's ray caster (the reference): same triangles, depths, barycentrics."""

import numpy as np

from meshing import cleanup, shapes
from meshing.grid import GridConfig, dense_marching_cubes
from meshing.preview import _raycast, camera_rays, look_at
from meshing.raster import rasterize_mesh


def test_zbuffer_matches_the_ray_caster():
    m = dense_marching_cubes(shapes.torus_sdf(0.5, 0.2), GridConfig(resolution=48))
    v, f = cleanup.decimate(m.vertices, m.faces, 3000)
    K = np.array([[90.0, 0, 48], [0, 80.0, 40], [0, 0, 1]])
    c2w = look_at([0.5, 1.4, 1.9])
    r = rasterize_mesh(v, f, K, c2w, 96, 80)
    o, d = camera_rays(K, c2w, 96, 80)
    hit, t, prim, bary = _raycast(v, f, o, d)
    hit = hit.reshape(80, 96)
    agree = (r.hit == hit).mean()
    assert agree > 0.995  # pixel centres on a triangle edge may go either way
    both = r.hit & hit
    same = r.face[both] == prim.reshape(80, 96)[both]
    assert same.mean() > 0.98
    # depth along the optical axis = t · (d · z_cam)
    zc = (t * (d @ c2w[:3, 2])).reshape(80, 96)
    np.testing.assert_allclose(r.depth[both], zc[both], rtol=1e-4, atol=1e-4)
    sel = both.copy()
    sel[both] = same
    np.testing.assert_allclose(r.bary[sel], bary.reshape(80, 96, 3)[sel], atol=2e-3)


def test_triangles_that_cover_no_pixel_leave_the_image_empty():
    # a chunk whose triangles cover no pixel centre (here: all of them off screen, or one sub-pixel triangle)
    # used to fail on the empty pixel list; off-screen chunks happen when a mesh is partly out of view
    K = np.array([[90.0, 0, 48], [0, 80.0, 40], [0, 0, 1]])
    c2w = look_at([0.0, 0.0, 2.0])
    v = np.array([[5.0, 5, 0], [5.2, 5, 0], [5, 5.2, 0], [0, 0, 0], [1e-4, 0, 0], [0, 1e-4, 0]])
    for f in (np.array([[0, 1, 2]]), np.array([[3, 4, 5]])):
        r = rasterize_mesh(v, f, K, c2w, 96, 80)
        assert not r.hit.any() and np.isinf(r.depth).all()
    m = dense_marching_cubes(shapes.torus_sdf(0.5, 0.2), GridConfig(resolution=32))
    far = m.vertices + np.array([10.0, 0, 0])  # with chunk=64 the off-screen copy makes chunks of its own
    both_v = np.concatenate([m.vertices, far])
    both_f = np.concatenate([m.faces, m.faces + len(m.vertices)])
    whole = rasterize_mesh(both_v, both_f, K, c2w, 96, 80, chunk=64)
    alone = rasterize_mesh(m.vertices, m.faces, K, c2w, 96, 80, chunk=64)
    np.testing.assert_array_equal(whole.face, alone.face)
