import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from neuhead.config import FitConfig, ModelConfig, RenderConfig, SCRATCH_PRESETS, StageConfig
from neuhead.train.checkpoint import load_checkpoint
from neuhead.cameras import Cameras
from neuhead.errors import InputError
from neuhead.train.fit import CHECKPOINT_NAME, resume_mismatch, run_stages

TINY = replace(
    SCRATCH_PRESETS["quick"],
    model=ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                      rgb_layers=1, weight_norm=False, scene_kind="shared"),
    render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
    batch_rays=64,
    checkpoint_every=5,
)


def _cfg(iters):
    return replace(TINY, stages=(StageConfig(name="scratch", iters=iters, lr=5e-3, warmup=3, cos_anneal_end=10),))



def test_killed_run_resumes_to_the_same_weights(sample_scene, tmp_path):
    class Killed(Exception):
        pass

    def kill(stage, it, logs):
        if it == 7:  # after the checkpoint at iteration 5, before the one at 10
            raise Killed

    full = run_stages(sample_scene, _cfg(10), progress=False)
    try:
        run_stages(sample_scene, _cfg(10), out_dir=tmp_path, progress=False, callback=kill)
    except Killed:
        pass
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").meta["iteration"] == 5
    resumed = run_stages(sample_scene, _cfg(10), out_dir=tmp_path, resume=True, progress=False)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    hist = resumed.history["scratch"]
    assert [it for it, _ in hist] == [10]


def test_resume_refuses_another_input_or_other_settings(sample_scene, tmp_path):
    run_stages(sample_scene, _cfg(5), out_dir=tmp_path, progress=False)
    meta = load_checkpoint(tmp_path / CHECKPOINT_NAME).meta
    assert resume_mismatch(meta, sample_scene, _cfg(5)) is None
    c = sample_scene.cameras
    K = c.K.copy()
    K[:, :2, :2] *= 1.05  # another field of view: what another --fov does to a photo
    other_cams = replace(sample_scene, cameras=Cameras(K, c.c2w, c.width, c.height))
    darker = replace(sample_scene, images=sample_scene.images * 0.8)
    no_masks = replace(sample_scene, masks=None)
    cases = [(sample_scene, _cfg(6), "stages.0.iters 5 -> 6"), (other_cams, _cfg(5), "the cameras differ"),
             (darker, _cfg(5), "the images differ"), (no_masks, _cfg(5), "the masks differ"),
             (sample_scene.subset([0, 1]), _cfg(5), "it fitted 12 view(s) of 48x48 px")]
    for scene, cfg, why in cases:
        assert why in resume_mismatch(meta, scene, cfg)
        with pytest.raises(InputError, match=f"{CHECKPOINT_NAME}: cannot resume: .*{re.escape(why)}"):
            run_stages(scene, cfg, out_dir=tmp_path, resume=True, progress=False)
    # a checkpoint from before the input signature: its config is still checked, its input is taken on trust
    old = {k: v for k, v in meta.items() if k != "input"}
    assert resume_mismatch(old, darker, _cfg(5)) is None
    assert "stages.0.iters" in resume_mismatch(old, sample_scene, _cfg(6))
    # a config field the checkpoint does not know yet is not held against it
    old["config"] = {k: v for k, v in old["config"].items() if k != "seed"}
    assert resume_mismatch(old, sample_scene, replace(_cfg(5), seed=7)) is None


def test_killed_run_with_a_moving_average_resumes_to_the_same_weights(sample_scene, tmp_path):
    class Killed(Exception):
        pass

    def kill(stage, it, logs):
        if it == 7:
            raise Killed

    cfg = replace(_cfg(10), stages=(replace(_cfg(10).stages[0], ema=0.8),))
    full = run_stages(sample_scene, cfg, progress=False)
    with pytest.raises(Killed):
        run_stages(sample_scene, cfg, out_dir=tmp_path, progress=False, callback=kill)
    assert any(k.startswith("ema.") for k in load_checkpoint(tmp_path / "checkpoint.safetensors").tensors)
    resumed = run_stages(sample_scene, cfg, out_dir=tmp_path, resume=True, progress=False)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_moving_average_ends_the_stage_at_the_average_of_its_iterates(sample_scene, monkeypatch):
    """Reference: the iterates recorded by the callback, averaged by the EMA recursion in float64."""
    cfg = replace(_cfg(6), stages=(replace(_cfg(6).stages[0], ema=0.7),))
    start = run_stages(sample_scene, replace(cfg, stages=(replace(cfg.stages[0], iters=0),)), progress=False)
    avg = {k: v.double().clone() for k, v in start.model.named_parameters()}
    plain_model = []

    def record(stage, it, logs):
        for k, p in plain_model[0].named_parameters():
            avg[k] = 0.7 * avg[k] + 0.3 * p.detach().double()

    import neuhead.train.fit as fit_mod

    orig = fit_mod._start

    def spy(*a, **kw):  # the model being fitted, so the callback can read every iterate
        run = orig(*a, **kw)
        plain_model.append(run.model)
        return run

    monkeypatch.setattr(fit_mod, "_start", spy)
    res = run_stages(sample_scene, cfg, progress=False, callback=record)
    for k, p in res.model.named_parameters():
        torch.testing.assert_close(p.detach().double(), avg[k], rtol=1e-5, atol=1e-6, msg=k)
    # and it is not the last iterate: without the average the weights differ
    last = run_stages(sample_scene, replace(cfg, stages=(replace(cfg.stages[0], ema=0.0),)), progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(res.model.parameters(), last.model.parameters()))


def test_fit_is_deterministic(sample_scene):
    a = run_stages(sample_scene, _cfg(6), progress=False)
    b = run_stages(sample_scene, _cfg(6), progress=False)
    for (k, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), k


def test_face_rays_draw_their_fraction_from_the_focus_pixels():
    from types import SimpleNamespace

    from neuhead.train.fit import PixelSampler

    n, h, w = 2, 16, 20
    scene = SimpleNamespace(images=np.random.default_rng(0).random((n, h, w, 3), dtype=np.float32),
                            masks=np.ones((n, h, w), np.float32))
    focus = np.zeros((n, h, w), bool)
    focus[1, 4:8, 10:14] = True
    cam, u, v, rgb, _ = PixelSampler(scene, focus=focus, focus_fraction=0.5).sample(400, torch.Generator().manual_seed(1))
    inside = focus[cam.numpy(), v.numpy(), u.numpy()]
    assert inside[:200].all() and inside.mean() < 0.55  # the first half from the focus, the rest anywhere
    np.testing.assert_array_equal(rgb.numpy(), scene.images[cam.numpy(), v.numpy(), u.numpy()])
    # fraction 0 (the default) draws exactly what a sampler without focus draws
    a = PixelSampler(scene, focus=focus, focus_fraction=0.0).sample(64, torch.Generator().manual_seed(2))
    b = PixelSampler(scene).sample(64, torch.Generator().manual_seed(2))
    for x, y in zip(a[:3], b[:3]):
        assert torch.equal(x, y)


def test_face_focus_only_for_placed_heads(sample_scene):
    from dataclasses import replace as dc_replace

    from eval.align import Similarity
    from neuhead.data.placement import Placement
    from neuhead.train.fit import face_focus

    assert sample_scene.placement is None and face_focus(sample_scene, 0.475) is None  # no head frame: no face
    file_frame = dc_replace(sample_scene, placement=Placement("file", None))
    assert face_focus(file_frame, 0.475) is None
    placed = dc_replace(sample_scene, placement=Placement("pnp", Similarity(1.0, np.eye(3), np.zeros(3))))
    f = face_focus(placed, 0.475)
    assert f.shape == sample_scene.images.shape[:3] and 0 < f.mean() < 1
    with pytest.raises(ValueError, match="face_rays"):
        FitConfig(face_rays=1.5)


def test_scene_color_stage_moves_the_new_scene_and_the_radiance_network_only(sample_scene):
    """"scene+color": the fitted scene's own rows and every radiance weight move; the other scenes' rows and the
    shared SDF weights stay exactly as they were."""
    from neuhead.model.multineus import MultiNeuS
    from neuhead.pipeline import prepare_prior

    lowrank = ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                          rgb_layers=2, weight_norm=False, scene_kind="lowrank", rank=6, sdf_scene_layers=2,
                          rgb_scene_layers=1)
    model = prepare_prior(MultiNeuS(lowrank, n_scenes=4, seed=0))
    k = model.n_scenes - 1
    rows = [p.detach().clone() for p in model.scene_parameters()]
    color = [p.detach().clone() for p in model.shared_color_parameters()]
    color_ids = {id(p) for p in model.shared_color_parameters()}
    sdf = [p.detach().clone() for p in model.shared_parameters() if id(p) not in color_ids]
    assert color and sdf
    cfg = FitConfig(model=lowrank, render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
                    batch_rays=64, stages=(StageConfig(name="s", params="scene+color+cameras", iters=3, lr=1e-2,
                                                       warmup=0, cos_anneal_end=0),))
    res = run_stages(sample_scene, cfg, model=model, progress=False)
    for before, p in zip(rows, res.model.scene_parameters()):
        assert torch.equal(p[:k].detach(), before[:k])
    assert any(not torch.equal(p[k].detach(), b[k]) for b, p in zip(rows, res.model.scene_parameters()))
    assert all(not torch.equal(p.detach(), b) for b, p in zip(color, res.model.shared_color_parameters()))
    after = [p for p in res.model.shared_parameters() if id(p) not in {id(q) for q in res.model.shared_color_parameters()}]
    assert all(torch.equal(p.detach(), b) for b, p in zip(sdf, after))
    assert StageConfig(params="scene+color").moves_geometry and not StageConfig(params="cameras").moves_geometry


def test_scene_lr_by_spread_scales_each_lowrank_sdf_layer_by_its_training_spread():
    """spread_lr_scales: each low-rank SDF layer's coefficients get the rate times their training rows' mean std
    over the first layer's (the new scene's row left out); _stage_params gives each its own group at that rate
    and leaves every other parameter at the stage's rate."""
    from neuhead.config import ModelConfig, StageConfig
    from neuhead.model.multineus import MultiNeuS
    from neuhead.train.fit import _stage_params, spread_lr_scales

    cfg = ModelConfig(sdf_hidden=32, sdf_layers=3, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                      rgb_layers=1, weight_norm=False, rank=4, sdf_scene_layers=2, rgb_scene_layers=1)
    model = MultiNeuS(cfg, n_scenes=6)
    layers = [layer for layer in model.sdf_net.layers if layer.kind == "lowrank"]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer, std in zip(layers, (0.02, 0.005)):
            layer.coeffs.copy_(torch.randn(layer.coeffs.shape, generator=gen) * std)
    index = model.add_scene()
    with torch.no_grad():
        for layer in layers:
            layer.coeffs[index] = 100.0  # the new scene's row does not count
    scales = spread_lr_scales(model, index)
    expected = float(layers[1].coeffs[:6].std(0).mean() / layers[0].coeffs[:6].std(0).mean())
    assert scales[id(layers[0].coeffs)] == 1.0 and abs(scales[id(layers[1].coeffs)] - expected) < 1e-6
    assert 0.15 < expected < 0.4
    groups = _stage_params(model, StageConfig(params="scene", lr=1e-3), None, scales)
    by_param = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert abs(by_param[id(layers[1].coeffs)] - 1e-3 * expected) < 1e-9
    assert by_param[id(layers[0].coeffs)] == 1e-3 and by_param[id(model.variance)] == 1e-3
    assert sorted(by_param) == sorted(id(p) for p in model.scene_parameters())


def test_a_shaded_scene_fits_its_light_at_its_own_rate(sample_scene):
    """ModelConfig.shading = "sh": a scene-only stage moves the new scene's light row, at ``light_lr_ratio`` times
    the stage's rate (Adam's first step moves each coefficient by about its rate), and no other scene's."""
    from neuhead.model.multineus import MultiNeuS
    from neuhead.pipeline import prepare_prior

    shaded = ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                         rgb_layers=2, weight_norm=False, scene_kind="lowrank", rank=6, sdf_scene_layers=2,
                         rgb_scene_layers=1, shading="sh")
    model = prepare_prior(MultiNeuS(shaded, n_scenes=3, seed=0))
    k = model.n_scenes - 1
    before = model.rgb_net.light.detach().clone()
    coeffs = model.sdf_net.layers[0].coeffs.detach().clone()
    cfg = FitConfig(model=shaded, render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
                    batch_rays=64, light_lr_ratio=10.0,
                    stages=(StageConfig(name="s", params="scene", iters=1, lr=1e-3, warmup=0, cos_anneal_end=0,
                                        schedule="constant"),))
    res = run_stages(sample_scene, cfg, model=model, progress=False)
    light = res.model.rgb_net.light.detach()
    assert torch.equal(light[:k], before[:k])
    moved = (light[k] - before[k]).abs()
    assert 0.5e-2 < moved.max() <= 1.0001e-2  # 10 x 1e-3
    assert (res.model.sdf_net.layers[0].coeffs.detach()[k] - coeffs[k]).abs().max() <= 1.0001e-3
    with pytest.raises(ValueError, match="light_lr_ratio"):
        FitConfig(light_lr_ratio=0.0)
