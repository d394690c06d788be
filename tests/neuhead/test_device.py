"""Device correctness without a GPU: everything runs on PyTorch's ``meta`` device.

A meta tensor has a shape and a device but no data. Any tensor created mid-computation on the CPU
(``torch.rand`` without ``.to(device)``, ``torch.linspace`` without ``device=``, a background colour made
on the CPU) meets a meta tensor and raises "Tensor on device cpu is not on the expected device meta",
exactly where a CUDA run would fail. Random numbers still come from CPU generators (then moved), so a
seed gives the same rays on any device.
"""

import torch
import torch.fx.experimental._config as fx_config

from neuhead.cameras import CameraRefinement, Rays
from neuhead.config import QUICK_MODEL, QUICK_RENDER, LossConfig
from neuhead.losses import color_l1, eikonal, mask_bce, solid_terms
from neuhead.model.multineus import MultiNeuS
from neuhead.render import background_color, model_fns, render_rays, sample_pdf, uniform_z
from neuhead.train.fit import make_rays

META = torch.device("meta")


def _rays(n=64, device=META) -> Rays:
    o = torch.zeros(n, 3, device=device)
    d = torch.ones(n, 3, device=device) / 3 ** 0.5
    return Rays(o, d, torch.full((n, 1), 0.1, device=device), torch.ones(n, 1, device=device))


def test_samplers_and_backgrounds_stay_on_the_inputs_device():
    gen = torch.Generator().manual_seed(0)
    near, far = torch.zeros(8, 1, device=META), torch.ones(8, 1, device=META)
    assert uniform_z(near, far, 16, perturb=True, generator=gen).device == META
    bins, w = torch.zeros(8, 17, device=META), torch.ones(8, 16, device=META)
    assert sample_pdf(bins, w, 8, det=True).device == META
    assert sample_pdf(bins, w, 8, det=False, generator=gen).device == META
    for kind in ("white", "black", "random"):
        assert background_color(kind, 8, gen, device=META).device == META


def test_render_and_training_losses_on_meta_with_the_background_field(monkeypatch):
    """The fit step's and the meta-learning step's forward and backward (renderer with up-sampling, the
    NeRF++ background field of meta-learning, colour/eikonal/mask/solid losses) on the meta device."""
    gen = torch.Generator().manual_seed(0)
    # boolean masking (the solid term's foreground rays) has no data on meta: assume every element is kept
    monkeypatch.setattr(fx_config, "meta_nonzero_assume_all_nonzero", True)
    for background in (False, True):
        model = MultiNeuS(QUICK_MODEL, n_scenes=2, background=background).to(META)
        fns = model_fns(model, 1, background=background)
        rays = _rays()
        bg = None if background else background_color("random", 64, gen, device=META)
        out = render_rays(rays, fns, QUICK_RENDER, training=True, bg_rgb=bg, generator=gen)
        assert out.rgb.device == META and out.opacity.shape == (64, 1)
        target, mask = torch.zeros(64, 3, device=META), torch.ones(64, 1, device=META)
        cfg = LossConfig()
        loss = color_l1(out.rgb, target) + eikonal(out.gradients, (out.radius < cfg.eikonal_radius).float()) + mask_bce(out.opacity, mask)
        for v in solid_terms(fns.sdf, rays, out, mask, cfg, gen).values():
            loss = loss + v
        loss.backward()
        assert all(p.grad is None or p.grad.device == META for p in model.parameters())


def test_camera_refinement_rays_on_meta():
    K = torch.eye(3, dtype=torch.float64, device=META).expand(2, 3, 3)
    c2w = torch.eye(4, dtype=torch.float64, device=META).expand(2, 4, 4)
    ref = CameraRefinement(2).to(META)
    K2, c2w2 = ref(K, c2w)
    idx = torch.zeros(16, dtype=torch.long)  # the pixel sampler's indices come from a CPU generator
    rays = make_rays(K2, c2w2, idx.to(META), idx, idx)
    assert rays.origins.device == META and rays.near.device == META
