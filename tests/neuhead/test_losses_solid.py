"""The solid-interior hinges of fitting (issue 16): where their points go, and that they push a hollow inside."""

import torch

from neuhead.cameras import Rays, sphere_near_far
from neuhead.config import LossConfig, RenderConfig
from neuhead.losses import behind_surface_points, core_points, inside_hinge, solid_terms, total_loss
from neuhead.render import render_rays

from _fields import sphere_fns


def _rays(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    o = torch.tensor([0.0, 0.0, -2.5]).expand(n, 3).clone()
    target = torch.cat([(torch.rand(n, 2, generator=g) - 0.5) * 1.4, torch.zeros(n, 1)], 1)  # some miss r = 0.5
    d = target - o
    d = d / d.norm(dim=-1, keepdim=True)
    near, far, _ = sphere_near_far(o, d)
    return Rays(o, d, near, far), target


def test_behind_surface_points_are_inside_a_sphere_and_skip_grazing_rays():
    rays, target = _rays()
    fns = sphere_fns(0.5)
    out = render_rays(rays, fns, RenderConfig(n_samples=64, n_importance=32, perturb=False), training=False)
    mask = (target[:, :2].norm(dim=-1, keepdim=True) < 0.5).float()  # the sphere's silhouette
    cfg = LossConfig(solid_depth=0.4, solid_samples=3, solid_min_cos=0.3)
    pts = behind_surface_points(rays, out, mask, cfg, torch.Generator().manual_seed(1))
    r_img = target[:, :2].norm(dim=-1)
    cos = torch.sqrt((1 - (r_img / 0.5) ** 2).clamp_min(0))  # incidence cosine on the sphere
    expected = int(((r_img < 0.5) & (cos >= 0.3)).sum()) * 3
    assert abs(len(pts) - expected) <= 3 * 3  # the rendered normal decides the border rays
    assert len(pts) > 300
    assert (pts.norm(dim=-1) < 0.5).all()  # all inside: a chord is 2 r cos >= 0.4 cos
    assert (pts.norm(dim=-1) < 0.5 - 0.005).float().mean() > 0.95  # and clear of the surface


def test_core_points_fill_the_ball():
    p = core_points(4000, 0.25, torch.Generator().manual_seed(0))
    r = p.norm(dim=-1)
    assert r.max() <= 0.25 + 1e-6 and abs(float((r < 0.25 * 0.5 ** (1 / 3)).float().mean()) - 0.5) < 0.03
    e = core_points(4000, (0.3, 0.45, 0.3), torch.Generator().manual_seed(0))
    q = (e / torch.tensor([0.3, 0.45, 0.3])).norm(dim=-1)
    assert q.max() <= 1 + 1e-6 and e[:, 1].abs().max() > 0.4 and e[:, 0].abs().max() < 0.3 + 1e-6


def test_solid_terms_off_draw_nothing_and_on_penalise_a_hollow():
    rays, target = _rays(64)
    fns = sphere_fns(0.5)
    out = render_rays(rays, fns, RenderConfig(n_samples=32, n_importance=16, perturb=False), training=False)
    mask = (target[:, :2].norm(dim=-1, keepdim=True) < 0.5).float()
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    assert solid_terms(fns.sdf, rays, out, mask, LossConfig(solid=0.0, core=0.0), g) == {}
    assert torch.equal(g.get_state(), state)  # runs with the terms off are unchanged

    def hollow(x):  # a shell 0.4 < |x| < 0.5, positive inside
        r = x.norm(dim=-1)
        return torch.maximum(r - 0.5, 0.4 - r)

    cfg = LossConfig(solid=1.0, core=1.0, solid_depth=0.4)
    solid = solid_terms(fns.sdf, rays, out, mask, cfg, g)
    assert float(solid["solid"]) == 0.0 and float(solid["core"]) == 0.0
    holl = solid_terms(hollow, rays, out, mask, cfg, g)
    assert float(holl["solid"]) > 0.0 and float(holl["core"]) > 0.05  # core reaches r = 0.45: sdf >= -0.05
    _, logs = total_loss(out, out.rgb, mask, cfg, holl)
    assert logs["solid"] > 0 and logs["core"] > 0
    assert float(inside_hinge(torch.zeros(0))) == 0.0

