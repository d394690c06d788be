import numpy as np
import pytest
import torch

from _fields import sphere_fns
from neuhead.cameras import Rays, sphere_near_far
from neuhead.config import RenderConfig
from neuhead.render import composite, render_rays, sample_pdf, sdf_to_alpha, uniform_z, weights_from_alpha


def _rays(offsets):
    o = torch.tensor([[x, y, -3.0] for x, y in offsets], dtype=torch.float64)
    d = torch.tensor([[0.0, 0.0, 1.0]] * len(offsets), dtype=torch.float64)
    near, far, _ = sphere_near_far(o, d)
    return Rays(o, d, near, far)


def test_sphere_depth_and_opacity_match_the_ray_sphere_hit():
    r = 0.5
    offsets = [(0.0, 0.0), (0.2, 0.1), (0.3, -0.2), (0.7, 0.0), (0.0, 0.9)]
    rays = _rays(offsets)
    out = render_rays(rays, sphere_fns(r), RenderConfig(n_samples=64, n_importance=64, perturb=False), training=False)
    for i, (x, y) in enumerate(offsets):
        rho2 = x * x + y * y
        if rho2 < r * r:
            true_depth = 3.0 - np.sqrt(r * r - rho2)
            assert abs(out.depth[i, 0].item() - true_depth) < 5e-3, (i, out.depth[i, 0].item(), true_depth)
            assert out.opacity[i, 0].item() > 0.99
            np.testing.assert_allclose(out.rgb[i].numpy(), [0.8, 0.3, 0.1], atol=1e-2)
        else:
            assert out.opacity[i, 0].item() < 0.01


def test_sdf_to_alpha_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    sdf = (torch.rand(3, 8, generator=g, dtype=torch.float64) - 0.5).requires_grad_()
    cos = (torch.rand(3, 8, generator=g, dtype=torch.float64) * -1).requires_grad_()
    dists = torch.full((3, 8), 0.05, dtype=torch.float64)
    inv_s = torch.tensor(20.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, s: sdf_to_alpha(a, b, dists, s, 0.7), (sdf, cos, inv_s))


def test_weights_formula_and_composite():
    alpha = torch.tensor([[0.5, 0.5, 1.0]])
    w = weights_from_alpha(alpha)
    np.testing.assert_allclose(w.numpy(), [[0.5, 0.25, 0.25]], atol=1e-6)
    np.testing.assert_allclose(composite(w, torch.tensor([[1.0, 2.0, 4.0]])).numpy(), [[2.0]], atol=1e-6)


def test_uniform_and_pdf_samples_stay_in_range():
    near, far = torch.full((4, 1), 1.0), torch.full((4, 1), 3.0)
    z = uniform_z(near, far, 16, perturb=True, generator=torch.Generator().manual_seed(0))
    assert (z >= 1).all() and (z <= 3).all() and (z.diff(dim=-1) > 0).all()
    bins = torch.linspace(1, 3, 17).expand(4, 17).contiguous()
    w = torch.zeros(4, 16)
    w[:, 8] = 1.0  # all mass in [2.0, 2.125]
    s = sample_pdf(bins, w, 32)
    assert ((s >= 2.0 - 1e-3) & (s <= 2.125 + 1e-3)).float().mean() > 0.95


def test_narrow_band_renders_what_the_full_sampler_renders():
    """The fast path (a band of 16 samples around the first surface) against the NeuS sampler (64 + 64) on the
    analytic sphere: hits, grazing rays and misses; and the SDF's gradient the colour loss sends back."""
    r = 0.5
    offsets = [(0.0, 0.0), (0.2, 0.1), (0.3, -0.2), (0.45, 0.1), (0.49, 0.0), (0.52, 0.0), (0.7, 0.0), (0.0, 0.9)]
    rays = _rays(offsets)
    full_cfg = RenderConfig(n_samples=64, n_importance=64, perturb=False)
    band_cfg = RenderConfig(n_samples=64, band_samples=16, band_width=0.05, perturb=False)
    outs = {}
    for name, cfg in (("full", full_cfg), ("band", band_cfg)):
        radius = torch.tensor(r, dtype=torch.float64, requires_grad=True)
        out = render_rays(rays, sphere_fns(radius, inv_s=200.0), cfg, training=False)
        (out.depth.sum() + out.opacity.sum()).backward()
        outs[name] = (out, radius.grad.item())
    (full, g_full), (band, g_band) = outs["full"], outs["band"]
    assert band.z.shape == (len(offsets), 16)
    np.testing.assert_allclose(band.opacity.detach(), full.opacity.detach(), atol=2e-2)
    np.testing.assert_allclose(band.rgb.detach(), full.rgb.detach(), atol=2e-2)
    hit = full.opacity[:, 0].detach() > 0.99
    np.testing.assert_allclose(band.depth.detach()[hit], full.depth.detach()[hit], atol=2e-3)
    assert g_band == pytest.approx(g_full, rel=0.1)
    # the first-surface depth is the ray-sphere hit; a miss gets its closest approach
    from neuhead.render import first_surface_z

    z = first_surface_z(rays, sphere_fns(r).sdf, 64, perturb=False)[0][:, 0]
    assert abs(z[0].item() - 2.5) < 1e-3 and abs(z[6].item() - 3.0) < 0.05
