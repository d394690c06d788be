from dataclasses import replace

import torch

from neuhead.config import LossConfig, META_PRESETS, ModelConfig, RenderConfig
from neuhead.data.analytic import Snowman, make_sample_scene
from neuhead.losses import total_loss
from neuhead.render import model_fns, render_rays
from neuhead.train.checkpoint import load_checkpoint
from neuhead.train.fit import PixelSampler, make_rays
from neuhead.train.meta import LOG_NAME, meta_train

TINY_META = replace(
    META_PRESETS["quick"],
    model=ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16, rgb_layers=1,
                      weight_norm=False, rank=4, sdf_scene_layers=1, rgb_scene_layers=1),
    render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
    loss=LossConfig(mask=0.1), batch_rays=128, warmup=10, lr=5e-3, cos_anneal_end=0, checkpoint_every=20, log_every=5,
)


def tiny_scenes():
    shapes = [Snowman(center=(0, 0, 0), body_radius=r, head_radius=h) for r, h in ((70, 45), (60, 50), (75, 35))]
    return [make_sample_scene(n_views=4, res=24, seed=i, shape=sh) for i, sh in enumerate(shapes)]


def scene_loss(model, scene, k):
    """Colour loss of scene k on a fixed set of rays (no perturbation)."""
    gen = torch.Generator().manual_seed(123)
    cam, u, v, rgb, mask = PixelSampler(scene).sample(512, gen)
    rays = make_rays(torch.as_tensor(scene.cameras.K), torch.as_tensor(scene.cameras.c2w), cam, u, v)
    rgb = rgb * mask  # black background
    out = render_rays(rays, model_fns(model, k), TINY_META.render, training=False, bg_rgb=torch.zeros(512, 3))
    return total_loss(out, rgb, mask, TINY_META.loss)[1]["color"]


def test_meta_learning_lowers_every_scene_loss(tmp_path):
    scenes = tiny_scenes()
    from neuhead.model.multineus import MultiNeuS

    init = MultiNeuS(TINY_META.model, n_scenes=3, background=False, seed=TINY_META.seed)
    before = [scene_loss(init, s, k) for k, s in enumerate(scenes)]
    res = meta_train(scenes, replace(TINY_META, iters=150), tmp_path, progress=False)
    after = [scene_loss(res.model, s, k) for k, s in enumerate(scenes)]
    assert all(a < 0.8 * b for a, b in zip(after, before)), (before, after)
    assert (tmp_path / "loss.png").is_file()
    lines = (tmp_path / LOG_NAME).read_text().splitlines()
    assert len(lines) == 150 // 5


def test_meta_resume_continues_exactly(tmp_path):
    scenes = tiny_scenes()
    cfg = replace(TINY_META, iters=30, checkpoint_every=10)
    full = meta_train(scenes, cfg, tmp_path / "full", progress=False)

    class Killed(Exception):
        pass

    def kill(it, logs):
        if it == 25:
            raise Killed

    try:
        meta_train(scenes, cfg, tmp_path / "b", progress=False, callback=kill)
    except Killed:
        pass
    assert load_checkpoint(tmp_path / "b" / "meta.safetensors").meta["iteration"] == 20
    resumed = meta_train(scenes, cfg, tmp_path / "b", resume=True, progress=False)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    its = [int(l.split('"iteration": ')[1].split(",")[0]) for l in (tmp_path / "b" / LOG_NAME).read_text().splitlines()]
    assert its == sorted(set(its)) and its[-1] == 30
