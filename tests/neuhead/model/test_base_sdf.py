"""The base SDF grid: the gather lookup against grid_sample, against the exact SDF, its derivatives, and the
network built on it."""

from dataclasses import replace

import numpy as np
import torch

from neuhead.config import QUICK_MODEL
from neuhead.model.base_sdf import GridSDF, load_grid
from neuhead.model.multineus import MultiNeuS, SDFModule


def test_lookup_matches_grid_sample_inside_and_outside_the_box():
    base = GridSDF(load_grid())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4000, 3, generator=g, dtype=torch.float64) * 2.4 - 1.2  # reaches outside the box
    assert (base(x) - base.reference(x)).abs().max() < 1e-6  # float32 box corners
    lo = torch.as_tensor(load_grid().lo)
    assert ((x < lo).any(-1)).sum() > 100  # the outside branch was exercised


def test_lookup_is_the_neutral_heads_sdf():
    from neuhead.data.synthetic.geometry import neutral_geometry

    geo = neutral_geometry()
    rng = np.random.default_rng(1)
    surf, _, _ = geo.sample_surface(2000, rng)
    near = surf + rng.normal(size=surf.shape) * 0.01
    err_mm = np.abs(GridSDF(load_grid())(torch.as_tensor(near)).numpy() - geo.sdf(near)) * geo.mm_per_unit
    assert np.median(err_mm) < 0.05 and np.percentile(err_mm, 99) < 0.5
    # sign: the head's centre is inside, the sphere's edge outside
    inside = GridSDF(load_grid())(torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.98]]))
    assert inside[0] < -0.2 and inside[1] > 0.1


def test_second_derivatives_are_finite_and_match_finite_differences():
    base = GridSDF(load_grid())
    # fixed points: an unseeded draw put a point within h of a voxel face about one run in a hundred, where the central
    # difference straddles the trilinear kink (CI saw -0.4509 against -0.4513)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 3, dtype=torch.float64, generator=gen) - 0.5).requires_grad_(True)
    x2 = x.detach().clone()
    x2[:8] += 1.5  # some points outside the box
    x2.requires_grad_(True)
    for pts in (x, x2):
        f = base(pts)
        (g,) = torch.autograd.grad(f.sum(), pts, create_graph=True)
        (gg,) = torch.autograd.grad(g.norm(dim=-1).sum(), pts)
        assert torch.isfinite(g).all() and torch.isfinite(gg).all()
    h = 1e-6
    e = torch.zeros(3, dtype=torch.float64)
    e[1] = h
    p = x.detach()
    fd = (base(p + e) - base(p - e)) / (2 * h)
    (g,) = torch.autograd.grad(base(x).sum(), x)
    assert torch.allclose(g[:, 1], fd, atol=1e-4)


def test_base_swaps_the_networks_initial_sphere_for_the_mean_head():
    cfg = replace(QUICK_MODEL, rank=8, base_sdf="ict_neutral")
    m = MultiNeuS(cfg, n_scenes=2, seed=3)
    plain = MultiNeuS(replace(cfg, base_sdf="none"), n_scenes=2, seed=3)  # same weights, no base
    x = torch.rand(500, 3) * 2 - 1
    with torch.no_grad():
        swap = m.sdf_net.base(x) - (x.norm(dim=-1) - cfg.init_radius)
        assert torch.allclose(m.sdf(x, 1), plain.sdf(x, 1) + swap, atol=1e-6)
    assert not any("base" in k for k in m.state_dict())  # the grid is the asset's, not the weights file's
    # a traced export keeps a free batch size
    with torch.no_grad():
        traced = torch.jit.trace(SDFModule(m, 0).eval(), x[:7], check_trace=False)
        assert traced(x).shape == (500,) and torch.allclose(traced(x), m.sdf(x, 0), atol=1e-6)
