import numpy as np
import torch

from neuhead.cameras import CameraRefinement, Cameras, intrinsics, look_at, pixel_rays, rays_for_pixels, sphere_near_far


def test_look_at_is_opencv():
    c2w = look_at([0, 0, 3], [0, 0, 0])
    # camera z looks at the target, x to the right (+X world), y down (-Y world)
    np.testing.assert_allclose(c2w[:3, 2], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(c2w[:3, 0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(c2w[:3, 1], [0, -1, 0], atol=1e-12)
    assert np.isclose(np.linalg.det(c2w[:3, :3]), 1.0)


def test_pixel_centre_ray_projects_back_to_the_pixel():
    K = intrinsics(40.0, 64, 48)
    c2w = look_at([0.3, 0.2, 2.5], [0, 0, 0])
    cams = Cameras(K[None], c2w[None], 64, 48)
    o, d = pixel_rays(torch.tensor(K), torch.tensor(c2w), torch.tensor([5, 63]), torch.tensor([7, 0]))
    pts = (o + 1.7 * d).numpy()
    px, depth = cams.project(pts)
    np.testing.assert_allclose(px[0], [[5.5, 7.5], [63.5, 0.5]], atol=1e-9)
    assert np.all(depth > 0)


def test_sphere_near_far_hits_unit_sphere():
    o = torch.tensor([[0.0, 0.0, -3.0], [0.0, 2.0, -3.0]], dtype=torch.float64)
    d = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    near, far, hit = sphere_near_far(o, d)
    assert hit.tolist() == [True, False]
    np.testing.assert_allclose([near[0, 0], far[0, 0]], [2.0, 4.0])
    assert far[1, 0] > near[1, 0]


def test_rays_for_pixels_dtype_and_bounds():
    cams = Cameras(intrinsics(30, 32, 32)[None], look_at([0, 0, 3], [0, 0, 0])[None], 32, 32)
    r = rays_for_pixels(cams, np.zeros(4, int), np.array([0, 10, 16, 31]), np.array([0, 10, 16, 31]))
    assert r.origins.dtype == torch.float32 and r.near.shape == (4, 1)
    np.testing.assert_allclose(r.dirs.norm(dim=-1).numpy(), 1.0, atol=1e-6)


def test_transformed_keeps_projection():
    K = intrinsics(30, 32, 32)
    cams = Cameras(K[None], look_at([0.5, 0.2, 3], [0, 0, 0])[None], 32, 32)
    T = np.diag([150.0, 150.0, 150.0, 1.0])
    T[:3, 3] = [10, -20, 300]
    world = cams.transformed(T)
    p_unit = np.array([[0.1, 0.2, -0.3]])
    p_world = p_unit * 150 + T[:3, 3]
    np.testing.assert_allclose(cams.project(p_unit)[0], world.project(p_world)[0], atol=1e-9)


def test_camera_refinement_identity_and_gradients():
    K0 = torch.tensor(intrinsics(30, 32, 32))[None]
    c2w0 = torch.tensor(look_at([0, 0, 3], [0, 0, 0]))[None]
    ref = CameraRefinement(1)
    K, c2w = ref(K0, c2w0)
    assert torch.allclose(K, K0) and torch.allclose(c2w, c2w0)
    (K.sum() + c2w.sum()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ref.parameters())


def test_pixels_near_point_is_the_image_of_the_sphere():
    from neuhead.cameras import pixels_near_point

    K = intrinsics(40.0, 48, 40)
    c2w = look_at([0.4, -0.3, 2.5], [0, 0, 0])
    centre, r = np.array([0.1, 0.05, 0.0]), 0.3
    got = pixels_near_point(K[None], c2w[None], 40, 48, centre, r)[0]
    # reference: a pixel sees the sphere when the angle between its ray and the camera -> centre direction is
    # below asin(r / distance), computed per pixel from the projection formula
    cam = c2w[:3, 3]
    to_c = (centre - cam) / np.linalg.norm(centre - cam)
    half = np.arcsin(r / np.linalg.norm(centre - cam))
    ref = np.zeros((40, 48), bool)
    for v in range(40):
        for u in range(48):
            d = c2w[:3, :3] @ np.linalg.inv(K) @ np.array([u + 0.5, v + 0.5, 1.0])
            ref[v, u] = np.arccos(np.clip(d @ to_c / np.linalg.norm(d), -1, 1)) < half
    assert ref.sum() > 50 and not ref.all()
    assert (got != ref).sum() <= 2  # pixels on the rim may fall either way in floating point
    # behind the camera nothing is seen
    assert not pixels_near_point(K[None], c2w[None], 40, 48, cam - 3 * to_c, r).any()
