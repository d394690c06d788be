"""The Gaussian coefficient prior of a new scene: zero at the training mean, about 1 for a training head,
only the fitted scene's coefficients get its gradient, and a prior fit logs it."""

from dataclasses import replace

import torch

from neuhead.config import LossConfig, ModelConfig, RenderConfig, FitConfig, StageConfig
from neuhead.losses import CoefficientPrior
from neuhead.model.multineus import MultiNeuS
from neuhead.pipeline import prepare_prior
from neuhead.train.fit import run_stages

LOWRANK = ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                      rgb_layers=1, weight_norm=False, scene_kind="lowrank", rank=6, sdf_scene_layers=2,
                      rgb_scene_layers=1)


def _trained_like(n_scenes=40, seed=0) -> MultiNeuS:
    m = MultiNeuS(LOWRANK, n_scenes=n_scenes, seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in (x for x in m.scene_layers() if x.kind == "lowrank"):
            mix = torch.randn(layer.rank, layer.rank, generator=g)
            layer.coeffs.copy_(torch.randn(n_scenes, layer.rank, generator=g) @ mix + 0.3)
    return m


def test_zero_at_the_mean_about_one_for_a_training_scene():
    m = prepare_prior(_trained_like())
    new = m.n_scenes - 1
    prior = CoefficientPrior(m, new, ridge=0.0)
    assert len(prior.layers) == 2  # the SDF's low-rank layers only; the radiance layer stays free
    assert float(prior().detach()) < 1e-8  # add_scene starts at the mean
    with torch.no_grad():
        for layer in prior.layers:
            layer.coeffs[new] = layer.coeffs[3]
    assert 0.2 < float(prior().detach()) < 3.0


def test_gradient_reaches_only_the_fitted_scene():
    m = prepare_prior(_trained_like())
    new = m.n_scenes - 1
    prior = CoefficientPrior(m, new)
    with torch.no_grad():
        m.sdf_net.layers[0].coeffs[new] += 1.0
    prior().backward()
    g = m.sdf_net.layers[0].coeffs.grad
    assert g[new].abs().sum() > 0 and g[:new].abs().sum() == 0


def test_prior_fit_logs_the_term(sample_scene):
    cfg = FitConfig(model=LOWRANK, render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
                    loss=LossConfig(coeff_prior=0.1), batch_rays=64,
                    stages=(StageConfig(name="stage1", params="scene+cameras", iters=4, lr=1e-2, warmup=0,
                                        cos_anneal_end=0),))
    res = run_stages(sample_scene, cfg, model=prepare_prior(_trained_like()), progress=False)
    (_, logs), = res.history["stage1"][-1:]
    assert logs["coeff_prior"] > 0
    off = run_stages(sample_scene, replace(cfg, loss=LossConfig()), model=prepare_prior(_trained_like()), progress=False)
    assert "coeff_prior" not in off.history["stage1"][-1][1]
