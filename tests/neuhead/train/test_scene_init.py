"""The "base" start of a prior fit: the new scene regressed to the base SDF (the ICT neutral head)."""

import pytest
import torch

from neuhead.config import FitConfig
from neuhead.pipeline import prepare_prior
from neuhead.prior import load_prior
from neuhead.train.fit import init_scene_to_base


def _base_error(model, k, n=4000):
    base = model.sdf_net.base
    x = base.near_surface(n, 0.01, torch.Generator().manual_seed(1))
    with torch.no_grad():
        return float((model.sdf(x, k).squeeze(-1) - base(x)).abs().mean())


def test_base_init_moves_only_the_new_scene_towards_the_base():
    prior = load_prior()
    mean = prepare_prior(prior.model)
    based = prepare_prior(prior.model, "base", init_iters=150, seed=0)
    k = mean.n_scenes - 1
    assert _base_error(based, k) < 0.6 * _base_error(mean, k)
    for p_mean, p_based in zip(mean.scene_parameters(), based.scene_parameters()):
        assert torch.equal(p_mean[:k], p_based[:k])  # the training scenes are untouched
    for p_mean, p_based in zip(mean.shared_parameters(), based.shared_parameters()):
        assert torch.equal(p_mean, p_based) and p_based.grad is None


def test_near_surface_points_lie_in_the_band():
    base = load_prior().model.sdf_net.base
    x = base.near_surface(2000, 0.02, torch.Generator().manual_seed(0))
    assert x.shape == (2000, 3)
    # each point is inside a voxel whose sample is within the band: the SDF changes by <= voxel * sqrt(3) / 2
    assert float(base(x).abs().max()) <= 0.02 + base.voxel * 3 ** 0.5 / 2 + 1e-4


def test_base_init_needs_a_base_sdf_and_a_known_name():
    from neuhead.config import QUICK_MODEL
    from neuhead.model.multineus import MultiNeuS

    model = MultiNeuS(QUICK_MODEL, n_scenes=2)
    with pytest.raises(ValueError, match="base SDF"):
        init_scene_to_base(model, 1, iters=1)
    with pytest.raises(ValueError, match="scene_init"):
        FitConfig(scene_init="neutral")
