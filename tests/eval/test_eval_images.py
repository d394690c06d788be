import math

import numpy as np
import pytest
import torch

from eval.images import (RefineConfig, apply_camera_update, evaluate_novel_views, masked_psnr, masked_ssim,
                         refine_control_camera)

H = W = 40


@pytest.fixture(autouse=True)
def one_torch_thread():
    """40x40 images are tiny: on a loaded 2-core machine two intra-op threads made each render
    ~100x slower (34 ms vs 0.3 ms measured), so these tests run single-threaded."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def sphere_renderer(K: torch.Tensor, c2w: torch.Tensor) -> torch.Tensor:
    """Differentiable oracle renderer: a unit sphere at the origin whose colour is a smooth
    function of position, on a black background. Pixel centres at (u + 0.5, v + 0.5)."""
    v, u = torch.meshgrid(torch.arange(H, dtype=K.dtype) + 0.5, torch.arange(W, dtype=K.dtype) + 0.5, indexing="ij")
    d_cam = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    d = d_cam @ c2w[:3, :3].T
    d = d / d.norm(dim=-1, keepdim=True)
    o = c2w[:3, 3]
    b = d @ o
    disc = b**2 - (o @ o - 1.0)
    hit = disc > 0
    t = -b - torch.sqrt(disc.clamp_min(1e-12))
    p = o + t[..., None] * d
    col = 0.5 + 0.5 * torch.sin(torch.stack([3 * p[..., 0] + 1, 2 * p[..., 1] - 2 * p[..., 2], 3 * p[..., 2]], -1))
    return torch.where(hit[..., None], col, torch.zeros_like(col))


def _camera():
    K = np.array([[50.0, 0, W / 2], [0, 50.0, H / 2], [0, 0, 1]])
    c2w = np.eye(4)
    c2w[:3, 3] = [0, 0, -3.5]  # looking along +z at the origin
    return K, c2w


def test_psnr_by_hand_and_mask():
    gt = np.full((8, 8, 3), 0.5)
    pred = gt + 0.1
    assert masked_psnr(pred, gt) == pytest.approx(20.0)
    mask = np.zeros((8, 8))
    mask[:4] = 1
    pred2 = gt.copy()
    pred2[4:] = 0.0  # errors only outside the mask
    assert masked_psnr(pred2, gt, mask) == math.inf
    assert masked_psnr(pred2, gt) == pytest.approx(10 * math.log10(1 / (0.5 * 0.25)))


def test_ssim_matches_skimage_and_is_one_on_identical():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.random((32, 40, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    ref = structural_similarity(a, b, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert masked_ssim(a, b) == pytest.approx(ref, abs=1e-10)
    assert masked_ssim(a, a) == pytest.approx(1.0)
    mask = np.zeros((32, 40))
    mask[:, :20] = 1
    b2 = a.copy()
    b2[:, 28:] = 0  # damage only far outside the mask (beyond the window's reach)
    assert masked_ssim(b2, a, mask) == pytest.approx(1.0)
    assert masked_ssim(b2, a) < 0.9


def test_refinement_recovers_a_perturbed_control_camera():
    K, c2w = _camera()
    with torch.no_grad():
        target = sphere_renderer(torch.tensor(K), torch.tensor(c2w)).numpy()
    mask = (target.sum(-1) > 0).astype(np.float64)
    # perturb: 1.5 degrees, 0.04 units, focal x 1.04
    Kp, cp = apply_camera_update(torch.tensor(K), torch.tensor(c2w), torch.tensor([0.01, -0.02, 0.015]),
                                 torch.tensor([0.04, -0.03, 0.02]), torch.tensor(math.log(1.04)))
    cam = refine_control_camera(sphere_renderer, Kp.numpy(), cp.numpy(), target, mask,
                                RefineConfig(steps=80, lr_pose=5e-3, lr_focal=5e-3, focal_penalty=0.0),
                                dtype=torch.float64)
    assert cam.psnr_before < 25
    assert cam.psnr_after > cam.psnr_before + 10
    assert cam.K[0, 0] == pytest.approx(K[0, 0], rel=0.01)
    # the refined camera projects surface points where the true one does (sub-pixel)
    pts = np.array([[0.3, 0.2, -0.93], [-0.5, 0.1, -0.86], [0.0, -0.6, -0.8]])

    def proj(Km, c):
        pc = (np.linalg.inv(c) @ np.c_[pts, np.ones(3)].T)[:3]
        uv = Km @ pc
        return (uv[:2] / uv[2]).T

    before = np.abs(proj(Kp.numpy(), cp.numpy()) - proj(K, c2w)).max()
    after = np.abs(proj(cam.K, cam.c2w) - proj(K, c2w)).max()
    assert before > 2.0 and after < 0.3


def test_evaluate_novel_views_without_refinement_scores_the_given_camera():
    K, c2w = _camera()
    with torch.no_grad():
        img = sphere_renderer(torch.tensor(K, dtype=torch.float32), torch.tensor(c2w, dtype=torch.float32)).numpy()
    ev = evaluate_novel_views(sphere_renderer, K[None], c2w[None], img[None], None, RefineConfig(steps=0))
    assert ev.psnr == math.inf and ev.ssim == pytest.approx(1.0)
    assert ev.views[0].camera.rotation_deg == 0.0
