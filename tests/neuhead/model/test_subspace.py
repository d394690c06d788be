"""The training scenes' coefficient subspace: the projection against a least-squares reference, what it keeps,
and a prior fit that stays inside it (stage 1) while a stage moving every weight is not projected."""

import pytest
import torch

from neuhead.config import FitConfig, RenderConfig, StageConfig
from neuhead.model.subspace import CoefficientSubspace
from neuhead.pipeline import prepare_prior
from neuhead.train.fit import run_stages

from tests.neuhead.train.test_coeff_prior import LOWRANK, _trained_like


def _stacked(m, i):
    return torch.cat([layer.coeffs.detach()[i] for layer in m.sdf_net.layers if layer.kind == "lowrank"]).double()


def test_projection_is_the_least_squares_point_of_the_affine_span():
    m = prepare_prior(_trained_like(n_scenes=30))
    new = m.n_scenes - 1
    sub = CoefficientSubspace(m, new, 5)
    assert sub.basis.shape == (5, 12) and torch.allclose(sub.basis @ sub.basis.T, torch.eye(5, dtype=torch.float64))
    assert torch.allclose(_stacked(m, new), sub.mean, atol=1e-6)  # the new scene starts at the mean: inside
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in sub.layers:
            layer.coeffs[new] += torch.randn(layer.rank, generator=g)
    c = _stacked(m, new)
    # reference: the principal directions from the covariance's eigenvectors, then least squares in them
    C = torch.stack([_stacked(m, i) for i in range(new)])
    evals, evecs = torch.linalg.eigh(torch.cov(C.T))
    P = evecs[:, -5:]
    z = torch.linalg.lstsq(P, (c - C.mean(0))[:, None]).solution
    expected = C.mean(0) + (P @ z)[:, 0]
    sub.project()
    assert torch.allclose(_stacked(m, new), expected, atol=1e-5)
    before = _stacked(m, new)
    sub.project()  # idempotent
    assert torch.allclose(_stacked(m, new), before, atol=1e-6)
    assert torch.equal(_stacked(m, 3), C[3])  # the training rows are untouched
    assert 0 < sub.explained < 1


def test_the_full_subspace_keeps_a_training_scene():
    m = prepare_prior(_trained_like(n_scenes=30))
    new = m.n_scenes - 1
    sub = CoefficientSubspace(m, new, 12)  # D = 12 < 29 training scenes: the whole space
    with torch.no_grad():
        for layer in sub.layers:
            layer.coeffs[new] = layer.coeffs[7]
    sub.project()
    assert torch.allclose(_stacked(m, new), _stacked(m, 7), atol=1e-5)


def test_bad_sizes_are_refused():
    m = prepare_prior(_trained_like(n_scenes=10))
    with pytest.raises(ValueError, match="subspace size 10"):
        CoefficientSubspace(m, m.n_scenes - 1, 10)
    with pytest.raises(ValueError, match="scene_subspace"):
        FitConfig(scene_subspace=-1)


def test_a_fit_stays_in_the_subspace_in_scene_stages_only(sample_scene):
    render = RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2)
    stage1 = StageConfig(name="stage1", params="scene+cameras", iters=4, lr=1e-2, warmup=0, cos_anneal_end=0)
    cfg = FitConfig(model=LOWRANK, render=render, batch_rays=64, scene_subspace=3, stages=(stage1,))
    model = prepare_prior(_trained_like())
    res = run_stages(sample_scene, cfg, model=model, progress=False)
    new = res.model.n_scenes - 1
    sub = CoefficientSubspace(res.model, new, 3)
    c = _stacked(res.model, new)
    assert (c - sub.mean).norm() > 1e-4  # it moved
    assert torch.allclose(sub.mean + sub.basis.T @ (sub.basis @ (c - sub.mean)), c, atol=1e-5)  # inside
    free = run_stages(sample_scene, FitConfig(model=LOWRANK, render=render, batch_rays=64, stages=(stage1,)),
                      model=prepare_prior(_trained_like()), progress=False)
    cf = _stacked(free.model, new)
    assert not torch.allclose(sub.mean + sub.basis.T @ (sub.basis @ (cf - sub.mean)), cf, atol=1e-4)
