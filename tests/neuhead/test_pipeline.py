"""The one fit path: the prior is prepared in one place and the caller's prior is never changed."""

import torch

from neuhead.api import fit_config
from neuhead.pipeline import fit, prepare_prior
from neuhead.prior import load_prior


def test_prepare_prior_copies_and_adds_one_mean_scene():
    prior = load_prior()
    n, has_bg = prior.model.n_scenes, prior.model.background is not None
    model = prepare_prior(prior.model)
    assert model is not prior.model and model.n_scenes == n + 1 and model.background is None
    assert prior.model.n_scenes == n and (prior.model.background is not None) == has_bg


def test_fit_leaves_the_callers_prior_untouched(sample_scene):
    prior = load_prior()
    before = [p.detach().clone() for p in prior.model.parameters()]
    n = prior.model.n_scenes
    cfg = fit_config("quick", prior.config.model, iters=4, seed=0)
    recon = fit(sample_scene, cfg, prior.model, progress=False)
    assert recon.scene_index == n and recon.report["stages"]  # the fit's part of the report, set at construction
    assert prior.model.n_scenes == n
    assert all(torch.equal(a, b) for a, b in zip(before, prior.model.parameters()))


def _shared_changed(prior, fitted) -> bool:
    """whether any weight that every scene shares (same shape in both models) moved in the fit"""
    fit_params = dict(fitted.named_parameters())
    return any(not torch.equal(p, fit_params[name]) for name, p in prior.named_parameters()
               if fit_params[name].shape == p.shape)


def test_one_view_fits_move_only_the_new_scene_and_three_views_move_everything(sample_scene):
    prior = load_prior()
    cfg = fit_config("quick", prior.config.model, iters=6, seed=0)
    one = fit(sample_scene.subset([0]), cfg, prior.model, progress=False)
    assert not _shared_changed(prior.model, one.model)
    assert list(one.report["stages"]) == ["stage1", "stage2"]
    three = fit(sample_scene.subset([0, 1, 2]), cfg, prior.model, progress=False)
    assert _shared_changed(prior.model, three.model)


def test_resume_on_another_input_is_refused_before_the_prior_is_prepared(sample_scene, tmp_path, monkeypatch):
    import pytest

    import neuhead.pipeline as pipeline
    from neuhead.errors import InputError

    prior = load_prior()
    cfg = fit_config("quick", prior.config.model, iters=4, seed=0)
    fit(sample_scene.subset([0]), cfg, prior.model, checkpoint_dir=tmp_path, progress=False)
    prepared = []
    monkeypatch.setattr(pipeline, "prepare_prior", lambda *a, **k: prepared.append(1) or prepare_prior(*a, **k))
    with pytest.raises(InputError, match="cannot resume: it fitted 1 view"):
        fit(sample_scene.subset([0, 1]), cfg, prior.model, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert not prepared
    fit(sample_scene.subset([0]), cfg, prior.model, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert prepared
