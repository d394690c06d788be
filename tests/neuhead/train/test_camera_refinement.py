from dataclasses import replace

import numpy as np

from eval.align import rotation_angle_deg
from neuhead.cameras import Cameras
from neuhead.config import FitConfig, ModelConfig, RenderConfig, StageConfig
from neuhead.data.analytic import Snowman, make_sample_scene, surface_points
from neuhead.train.fit import run_stages

CFG = FitConfig(
    model=ModelConfig(sdf_hidden=48, sdf_layers=3, sdf_skip=(), pe_freqs=4, feature_dim=16, rgb_hidden=32,
                      rgb_layers=2, weight_norm=False, scene_kind="shared"),
    render=RenderConfig(n_samples=24, n_importance=24, up_sample_steps=2),
    batch_rays=128,
)


def _rot(axis, deg):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = np.deg2rad(deg)
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K


def _errors(cams: Cameras, truth: Cameras, points: np.ndarray):
    """(mean rotation error in degrees, mean reprojection error in px of ``points``, mean focal error)."""
    rot = [rotation_angle_deg(a[:3, :3], b[:3, :3]) for a, b in zip(cams.c2w, truth.c2w)]
    px = np.linalg.norm(cams.project(points)[0] - truth.project(points)[0], axis=-1).mean()
    focal = np.abs(cams.K[:, 0, 0] / truth.K[:, 0, 0] - 1)
    return float(np.mean(rot)), float(px), float(np.mean(focal))


def test_refinement_halves_a_3_degree_2_percent_error():
    scene = make_sample_scene(n_views=8, res=64, seed=3)
    # a model of the scene, fitted on the true cameras
    fitted = run_stages(scene, replace(CFG, stages=(StageConfig(iters=300, lr=5e-3, warmup=20, cos_anneal_end=100),)),
                       progress=False)
    # perturb every camera by 3 degrees about a random axis and its focal by +2 %
    rng = np.random.default_rng(0)
    c2w = scene.cameras.c2w.copy()
    for i in range(len(c2w)):
        c2w[i, :3, :3] = c2w[i, :3, :3] @ _rot(rng.normal(size=3), 3.0)
    K = scene.cameras.K.copy()
    K[:, :2, :2] *= 1.02
    noisy = replace(scene, cameras=Cameras(K, c2w, scene.width, scene.height))
    surface = (surface_points(Snowman(), 500, seed=0) - scene.to_world[:3, 3]) / scene.world_scale  # unit frame
    before = _errors(noisy.cameras, scene.cameras, surface)
    stage = StageConfig(name="cams", params="cameras", iters=150, lr=5e-2, warmup=0, schedule="constant",
                        camera_lr_ratio=0.1, cos_anneal_end=0)
    res = run_stages(noisy, replace(CFG, stages=(stage,), focal_penalty=0.0), model=fitted.model, progress=False)
    after = _errors(res.cameras_refined.apply_to(noisy.cameras), scene.cameras, surface)
    assert after[0] <= 0.5 * before[0], (before, after)  # pose (rotation) error at least halved
    assert after[1] <= 0.5 * before[1], (before, after)  # image-space error at least halved
    # focal and distance are nearly interchangeable for a small object: focal must not drift further
    assert after[2] <= 1.5 * before[2], (before, after)


def test_the_head_pose_moves_every_camera_about_the_origin_and_keeps_the_input_cameras_in_the_world():
    import torch

    from neuhead.cameras import CameraRefinement
    from neuhead.pipeline import result_reconstruction
    from neuhead.train.fit import FitResult

    scene = make_sample_scene(n_views=3, res=16, seed=1)
    ref = CameraRefinement(len(scene))
    with torch.no_grad():
        ref.head_rotation.copy_(torch.tensor([0.1, -0.05, 0.02], dtype=torch.float64))
        ref.head_translation.copy_(torch.tensor([0.02, 0.0, -0.03], dtype=torch.float64))
    G = ref.head_pose()
    assert np.allclose(G[:3, :3] @ G[:3, :3].T, np.eye(3)) and np.isclose(np.degrees(np.linalg.norm([0.1, -0.05, 0.02])),
                                                                             np.degrees(np.arccos((np.trace(G[:3, :3]) - 1) / 2)))
    moved = ref.apply_to(scene.cameras)
    assert np.allclose(moved.c2w, G @ scene.cameras.c2w)  # the per-camera terms are zero: G alone
    assert np.allclose(moved.K, scene.cameras.K)
    # the fit's frame absorbs G: the refined cameras, taken to the world, are the input's own cameras
    result = FitResult(model=None, scene_index=0, scene=scene, cameras_refined=ref)
    recon = result_reconstruction(result, CFG)
    world = moved.transformed(recon.to_world)
    assert np.allclose(world.c2w, scene.world_cameras().c2w, atol=1e-9)
    # a state saved before the head pose existed loads at identity
    old = {k: v for k, v in ref.state_dict().items() if not k.startswith("head_")}
    fresh = CameraRefinement(len(scene))
    fresh.load_state_dict(old)
    assert np.allclose(fresh.head_pose(), np.eye(4))


def test_the_head_pose_only_moves_when_its_rate_is_set():
    from neuhead.cameras import CameraRefinement
    from neuhead.train.fit import _stage_params

    ref = CameraRefinement(2)
    off = StageConfig(params="cameras")
    on = StageConfig(params="cameras", head_pose_lr_ratio=0.5, lr=1e-3)
    assert [g["name"] for g in _stage_params(None, off, ref)] == ["cameras"]
    groups = {g["name"]: g for g in _stage_params(None, on, ref)}
    assert groups["head_pose"]["lr"] == 5e-4 and len(groups["head_pose"]["params"]) == 2
    assert all(p is not q for p in groups["cameras"]["params"] for q in groups["head_pose"]["params"])


def test_a_checkpoint_keeps_the_frame_the_head_pose_fitted(tmp_path):
    from neuhead.reconstruction import load_reconstruction
    from neuhead.train.fit import CHECKPOINT_NAME, fitted_to_world

    scene = make_sample_scene(n_views=3, res=24, seed=2)
    stage = StageConfig(params="all+cameras", iters=6, lr=5e-3, warmup=0, cos_anneal_end=0, head_pose_lr_ratio=2.0)
    res = run_stages(scene, replace(CFG, stages=(stage,), batch_rays=64), out_dir=tmp_path, progress=False)
    G = res.cameras_refined.head_pose()
    assert np.degrees(np.arccos((np.trace(G[:3, :3]) - 1) / 2)) > 0.01  # the head pose moved
    expected = fitted_to_world(scene, res.cameras_refined)
    assert not np.allclose(expected, scene.to_world)
    # what `neuhead mesh CHECKPOINT` reads: the fitted frame, so the mesh lands where the images saw it
    assert np.allclose(load_reconstruction(tmp_path / CHECKPOINT_NAME).to_world, expected)
