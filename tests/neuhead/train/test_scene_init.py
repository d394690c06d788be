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


def _shape_offset(mm=4.0):
    """A FaceShape: the ICT neutral with its face pushed ``mm`` forward (canonical unit frame)."""
    import numpy as np

    from neuhead.data.canonical import CANONICAL_TO_WORLD
    from neuhead.data.face_shape import FaceShape, FaceShapeConfig, _basis

    b = _basis(FaceShapeConfig().identity_modes, FaceShapeConfig().face_radius_mm)
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    V = (b.neutral + np.array([0.0, 0.0, mm]) - t0) / s0
    return FaceShape(V, b.model.faces.astype(np.int64), b.face_faces, np.zeros(60), np.zeros(0), 0.0, 0)


def _face_error(model, k, shape, n=3000):
    import numpy as np

    rng = np.random.default_rng(0)
    F = shape.faces[shape.face_faces]
    tri = shape.vertices[F[rng.integers(len(F), size=n)]]
    x = torch.as_tensor(tri.mean(1), dtype=torch.float32)
    with torch.no_grad():
        return float(model.sdf(x, k).abs().mean())


def test_shape_init_moves_the_face_and_keeps_the_rest():
    from neuhead.train.fit import init_scene_to_shape

    prior = load_prior()
    mean = prepare_prior(prior.model)
    moved = prepare_prior(prior.model)
    k = mean.n_scenes - 1
    shape = _shape_offset()
    err = init_scene_to_shape(moved, k, shape, iters=150, seed=0)
    assert _face_error(moved, k, shape) < 0.5 * _face_error(mean, k, shape)
    assert err < 0.01
    # far from the face (the back of the head) the scene keeps its start
    back = torch.tensor([[0.0, 0.1, -0.55], [0.2, 0.3, -0.45], [-0.2, 0.2, -0.5]])
    with torch.no_grad():
        assert float((moved.sdf(back, k) - mean.sdf(back, k)).abs().max()) < 0.02
    for p_mean, p_moved in zip(mean.scene_parameters(), moved.scene_parameters()):
        assert torch.equal(p_mean[:k], p_moved[:k])


def test_landmark_init_without_a_placement_starts_at_the_mean(sample_scene, caplog):
    from neuhead.pipeline import scene_face_shape

    prior = load_prior()
    mean = prepare_prior(prior.model)
    with caplog.at_level("WARNING"):
        start = prepare_prior(prior.model, "landmarks", init_iters=1, scene=sample_scene)
    assert "starts at the mean head" in caplog.text
    for p_mean, p_start in zip(mean.scene_parameters(), start.scene_parameters()):
        assert torch.equal(p_mean, p_start)
    with pytest.raises(ValueError, match="placed in the canonical frame"):
        scene_face_shape(None)


def test_face_anchor_pulls_the_surface_onto_the_anchor_points(sample_scene):
    from dataclasses import replace

    from neuhead.config import LossConfig, RenderConfig, StageConfig
    from neuhead.train.fit import run_stages
    from tests.neuhead.train.test_coeff_prior import LOWRANK, _trained_like

    anchor = torch.tensor([[0.0, 0.0, 0.3], [0.1, 0.05, 0.3], [-0.1, 0.05, 0.3]])
    cfg = FitConfig(model=LOWRANK, render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
                    loss=LossConfig(face_anchor=10.0, face_anchor_points=16), batch_rays=32,
                    stages=(StageConfig(name="stage1", params="scene", iters=30, lr=1e-2, warmup=0,
                                        cos_anneal_end=0),))
    start = prepare_prior(_trained_like())
    k = start.n_scenes - 1
    with torch.no_grad():
        before = float(start.sdf(anchor, k).abs().mean())
    res = run_stages(sample_scene, cfg, model=prepare_prior(_trained_like()), progress=False, anchor=anchor)
    assert res.history["stage1"][-1][1]["face_anchor"] > 0
    with torch.no_grad():
        assert float(res.model.sdf(anchor, k).abs().mean()) < 0.5 * before
    off = run_stages(sample_scene, replace(cfg, loss=LossConfig()), model=prepare_prior(_trained_like()),
                     progress=False, anchor=anchor)
    assert "face_anchor" not in off.history["stage1"][-1][1]
