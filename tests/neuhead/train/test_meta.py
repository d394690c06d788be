import json
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


def snowman_geometry(scene, shape, seed):
    """GeometrySamples of an analytic shape in the scene's unit-sphere frame (exact SDF, normal, albedo)."""
    import numpy as np

    from neuhead.data.synthetic.geometry import GeometrySamples

    rng = np.random.default_rng(seed)
    A, t = scene.to_world[:3, :3], scene.to_world[:3, 3]
    r = float(np.cbrt(np.linalg.det(A)))
    to_unit = lambda p: (p - t) @ np.linalg.inv(A).T  # noqa: E731
    x = rng.uniform(-1, 1, (6000, 3))
    x = x[np.linalg.norm(x, axis=1) < 1]
    d = shape.sdf(x @ A.T + t) / r
    # surface points: project near-surface samples onto the zero level set along the normal
    p = x[np.abs(d) < 0.1] @ A.T + t
    for _ in range(5):
        p = p - shape.sdf(p)[:, None] * shape.normal(p)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    return GeometrySamples(f32(x), f32(d), f32(to_unit(p)), f32(shape.normal(p)), f32(shape.albedo(p)), r)


def tiny_geometry(scenes):
    shapes = [Snowman(center=(0, 0, 0), body_radius=r, head_radius=h) for r, h in ((70, 45), (60, 50), (75, 35))]
    return [snowman_geometry(s, sh, i) for i, (s, sh) in enumerate(zip(scenes, shapes))]


GEO_META = replace(TINY_META, geometry_iters=60, iters=20, geometry_lr=1e-2, geometry_points=256, geometry_surface=128,
                   render_geometry_weight=0.5, render_init_variance=0.4)


def test_geometry_phase_learns_each_scene_sdf_then_renders(tmp_path):
    import numpy as np

    from neuhead.train.meta import GeometrySampler, geometry_loss

    scenes = tiny_scenes()
    geo = tiny_geometry(scenes)
    from neuhead.model.multineus import MultiNeuS

    init = MultiNeuS(GEO_META.model, n_scenes=3, background=False, seed=GEO_META.seed)

    def sdf_err(model):
        return [float(np.abs(model.sdf(torch.as_tensor(g.points), k).detach().numpy() - g.sdf).mean()) for k, g in enumerate(geo)]

    before = sdf_err(init)
    cfg = replace(GEO_META, geometry_iters=240, iters=10)
    res = meta_train(scenes, cfg, tmp_path, progress=False, geometry=geo)
    after = sdf_err(res.model)
    assert all(a < 0.5 * b for a, b in zip(after, before)), (before, after)
    rows = [json.loads(l) for l in (tmp_path / LOG_NAME).read_text().splitlines()]
    assert {r["phase"] for r in rows} == {"geometry", "render"} and rows[-1]["iteration"] == 250
    assert torch.allclose(res.model.variance.detach()[0], torch.tensor(0.4), atol=0.05)
    # the loss function: a batch of exact samples of scene k scores lower on model row k than on the wrong row
    gen = torch.Generator().manual_seed(0)
    b = GeometrySampler(geo[0]).sample(512, 256, gen)
    own = geometry_loss(res.model, 0, b, cfg.geometry_loss)[1]["sdf"]
    other = geometry_loss(res.model, 2, b, cfg.geometry_loss)[1]["sdf"]
    assert own < other


def test_geometry_phase_resume_is_exact_across_the_phase_switch(tmp_path):
    scenes = tiny_scenes()
    geo = tiny_geometry(scenes)
    cfg = replace(GEO_META, checkpoint_every=25)
    full = meta_train(scenes, cfg, tmp_path / "full", progress=False, geometry=geo)

    class Killed(Exception):
        pass

    for stop in (55, 70):  # inside the geometry phase, then inside the rendering phase
        def kill(it, logs, stop=stop):
            if it == stop:
                raise Killed

        try:
            meta_train(scenes, cfg, tmp_path / "b", progress=False, callback=kill, geometry=geo, resume=True)
        except Killed:
            pass
    assert load_checkpoint(tmp_path / "b" / "meta.safetensors").meta["iteration"] == 60
    resumed = meta_train(scenes, cfg, tmp_path / "b", resume=True, progress=False, geometry=geo)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_geometry_phase_needs_geometry(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="geometry"):
        meta_train(tiny_scenes(), GEO_META, tmp_path, progress=False)


def test_face_weight_weighs_the_face_region_by_weighted_means():
    """geometry_loss with face_weight w: points within face_radius of the canonical nose tip count (1 + w)
    times, as weighted means, so an error only on the face grows the SDF term by (1 + w) / mean weight."""
    from neuhead.config import GeometryLossConfig
    from neuhead.model.multineus import MultiNeuS
    from neuhead.data.canonical import reference_unit
    from neuhead.train.meta import geometry_loss

    model = MultiNeuS(TINY_META.model, n_scenes=1, background=False)
    gen = torch.Generator().manual_seed(0)
    tip = torch.as_tensor(reference_unit("nose_tip"), dtype=torch.float32)
    x = tip + (torch.rand(400, 3, generator=gen) * 2 - 1) * 0.45
    on_face = (x - tip).norm(dim=-1) < 0.475
    with torch.no_grad():
        d = model.sdf(x, 0).clone()
    d[on_face] += 0.01  # the target differs from the model only on the face
    y = torch.zeros(8, 3)
    batch = (x, d, y, torch.tensor([[0.0, 0.0, 1.0]]).repeat(8, 1), torch.zeros(8, 3))
    plain = geometry_loss(model, 0, batch, GeometryLossConfig())[1]["sdf"]
    w = 2.0
    weighted = geometry_loss(model, 0, batch, GeometryLossConfig(face_weight=w))[1]["sdf"]
    frac = float(on_face.float().mean())
    assert 0.05 < frac < 0.95
    expected = plain * (1 + w) / (1 + w * frac)
    assert abs(weighted - expected) < 1e-3 * expected


def test_code_reg_and_mean_anchor_add_their_terms_and_the_anchor_trains_only_shared_weights():
    """code_reg adds the scene layers' relative deviation from the mean scene; mean_anchor compares the mean
    scene's SDF with the base SDF at near-surface face points, through the shared weights only."""
    from neuhead.config import GeometryLossConfig
    from neuhead.data.canonical import reference_unit
    from neuhead.model.multineus import MultiNeuS
    from neuhead.model.scene_linear import MEAN_SCENE
    from neuhead.train.meta import geometry_loss

    cfg = replace(TINY_META.model, base_sdf="ict_neutral")
    model = MultiNeuS(cfg, n_scenes=3, background=False)
    with torch.no_grad():
        for layer in model.scene_layers():
            for p in layer.scene_parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    gen = torch.Generator().manual_seed(0)
    tip = torch.as_tensor(reference_unit("nose_tip"), dtype=torch.float32)
    x = tip + (torch.rand(300, 3, generator=gen) * 2 - 1) * 0.2
    d = torch.full((300,), 0.01)
    d[:100] = 0.2  # too far from the surface to count for the anchor
    y = torch.zeros(8, 3)
    batch = (x, d, y, torch.tensor([[0.0, 0.0, 1.0]]).repeat(8, 1), torch.zeros(8, 3))
    plain = geometry_loss(model, 1, batch, GeometryLossConfig())
    assert "code" not in plain[1] and "anchor" not in plain[1]
    loss, logs = geometry_loss(model, 1, batch, GeometryLossConfig(code_reg=0.5, mean_anchor=2.0))
    dev = sum(float(layer.relative_deviation(1)) for layer in model.sdf_net.layers if layer.kind != "shared")
    assert abs(logs["code"] - 0.5 * dev) < 1e-5 * max(1.0, dev)
    near = x[100:]
    with torch.no_grad():
        anchor = (model.sdf(near, MEAN_SCENE) - model.sdf_net.base(near)).abs().mean() * 2.0
    assert abs(logs["anchor"] - float(anchor)) < 1e-5
    assert abs(logs["total"] - plain[1]["total"] - logs["code"] - logs["anchor"]) < 1e-4

    model.zero_grad()
    (anchor_only := geometry_loss(model, 1, batch, GeometryLossConfig(sdf=0, surface=0, normal=0, eikonal=0,
                                                                      color=0, mean_anchor=1.0))[0]).backward()
    assert float(anchor_only) > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.scene_parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.shared_parameters())


def test_a_shaded_model_starts_each_training_scene_at_its_own_light(tmp_path):
    """ModelConfig.shading = "sh": meta-learning starts each scene's SH row at ``GeometrySamples.light_sh`` (a scene
    without one at E = 1), and the rows then move with the geometry steps like any scene row."""
    import numpy as np

    scenes = tiny_scenes()
    geo = tiny_geometry(scenes)
    lights = [np.eye(9, 3)[:, :1].repeat(3, 1) * (0.5 + 0.2 * k) + 0.1 * k * np.eye(9, 3)[:, [1, 1, 1]]
              for k in range(2)]
    geo[0].light_sh, geo[1].light_sh = (np.asarray(L, np.float32) for L in lights)
    cfg = replace(GEO_META, model=replace(GEO_META.model, shading="sh"), geometry_iters=0, iters=0)  # no step
    light = meta_train(scenes, cfg, tmp_path, progress=False, geometry=geo).model.rgb_net.light.detach().numpy()
    assert np.allclose(light[0], lights[0]) and np.allclose(light[1], lights[1])
    assert np.allclose(light[2], np.eye(9, 3)[:, :1].repeat(3, 1))  # no light known: unlit
    moved = meta_train(scenes, replace(cfg, geometry_iters=5), tmp_path / "b", progress=False, geometry=geo).model
    assert not np.allclose(moved.rgb_net.light.detach().numpy()[:2], light[:2])
