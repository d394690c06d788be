"""Placement in the canonical head frame from the images alone (no ground truth at fit time).

Oracles: synthetic heads rendered with exact cameras, whose ground-truth canonical similarity
(Umeyama of the true landmarks) the estimate must match; synthetic detections made by projecting the
face template with known cameras (robustness cases); the same scene written with different
``scale_mat``s, which must give the same mesh in world coordinates.
"""

from dataclasses import replace

import numpy as np
import pytest

from eval.align import Similarity, rotation_angle_deg
from eval.chamfer import surface_chamfer
from eval.meshio import MeshData
from neuhead.cameras import Cameras, intrinsics, look_at
from neuhead.data.canonical import LANDMARK_NAMES, canonical_similarity, reference_array
from neuhead.data.load import load_input
from neuhead.data.neus import write_neus
from neuhead.data.face import FaceDetection
from neuhead.data.placement import PlacementConfig, face_mesh_rotation, load_face_template, place_scene
from neuhead.data.scene import Scene
from neuhead.data.synthetic import make_head_scene
from neuhead.errors import InputError

SEEDS = (9_100_000, 9_100_001, 9_100_002, 9_100_003)  # never training identities


def foreign_frame(scene: Scene, shift=(60.0, 0.0, 0.0), scale=1.0) -> Scene:
    """The same world and images with another scale_mat (shifted / scaled sphere), no landmarks."""
    T = scene.to_world.copy()
    T[:3, :3] *= scale
    T[:3, 3] += np.asarray(shift, float)
    return replace(scene, cameras=scene.world_cameras().transformed(np.linalg.inv(T)), to_world=T, landmarks=None)


@pytest.fixture(scope="module")
def heads():
    return [make_head_scene(s, n_views=3, res=512, rig="portrait") for s in SEEDS]  # views 0, +35, -35 deg


def _landmark_errors(sim, gt):
    X = np.stack([gt.landmarks[n] for n in LANDMARK_NAMES])
    return np.linalg.norm(sim.apply(X) - canonical_similarity(gt.landmarks).apply(X), axis=1)


def test_three_view_frame_matches_the_ground_truth_frame(heads):
    errs = []
    for scene, gt in heads:
        placed = place_scene(foreign_frame(scene, (60, -30, 40), 1.3))
        assert placed.placement.method == "triangulation" and len(placed.placement.views_used) >= 2
        errs.append(_landmark_errors(placed.placement.similarity, gt))
        assert placed.landmarks is None  # nothing of the ground truth travelled with the scene
    errs = np.array(errs)  # (heads, 6) mm in the canonical frame
    # measured on these 4 heads: median 2.0 mm, max 5.7 mm (one head had its -35 deg view dropped);
    # on heads 9000000..9000004: median 2.2, max 5.7
    assert np.median(errs) < 3.0
    assert errs.max() < 6.0


def test_one_view_frame_gives_the_fit_the_same_camera(heads):
    """One view: the canonical-frame camera (all the fit sees) matches the ground truth; the world
    placement is only known up to the depth-scale ambiguity, resolved by the declared units."""
    for scene, gt in heads:
        one = foreign_frame(scene.subset([0]), (0, 50, -60), 0.8)
        placed = place_scene(one)
        assert placed.placement.method == "pnp"
        S = placed.placement.similarity
        assert abs(S.scale - 1.0) < 1e-9  # mm world, reference-sized head
        S_gt = canonical_similarity(gt.landmarks)
        c = S.apply(one.world_cameras().centers)[0] - [0, 25, 0]
        c_gt = S_gt.apply(one.world_cameras().centers)[0] - [0, 25, 0]
        angle = np.degrees(np.arccos(c @ c_gt / np.linalg.norm(c) / np.linalg.norm(c_gt)))
        assert angle < 6.0
        assert abs(np.linalg.norm(c) / np.linalg.norm(c_gt) - 1) < 0.1


def test_face_mesh_rotation_recovers_the_template_pose_off_axis():
    """Oracle: a face mesh seen 10 deg off the optical axis, made as the function models the detector: the posed face
    template as seen from the camera turned to look along the ray through the face (x, y scaled into pixels around
    the face's image position, depth in the same pixels). The rotation comes back exactly; the six reference
    landmarks' centroid keeps its world position; without the turn the answer would be 10 deg off."""
    import cv2

    tpl = load_face_template()
    K = intrinsics(30.0, 800, 800)
    cams = Cameras(K[None], look_at(np.array([0.0, 0.0, 1000.0]), np.array([0.0, 0.0, 0.0]))[None], 800, 800)
    R_true = cv2.Rodrigues(np.radians([8.0, -5.0, 3.0]))[0]  # canonical -> world
    c = np.array([K[0, 2] + np.tan(np.radians(10.0)) * K[0, 0], K[1, 2]])  # the face's image position: 10 deg right
    d = np.linalg.inv(K) @ np.r_[c, 1.0]
    d /= np.linalg.norm(d)
    axis = np.cross([0.0, 0.0, 1.0], d)
    turn = cv2.Rodrigues(axis / np.linalg.norm(axis) * np.arccos(d[2]))[0]  # turned camera -> camera
    w2c = cams.c2w[0][:3, :3].T
    seen = (tpl.points - tpl.points.mean(0)) @ (turn.T @ w2c @ R_true).T * 0.9  # turned-camera frame, 0.9 px / mm
    full = np.zeros((468, 3))
    full[tpl.index] = seen
    init = Similarity(1.0, np.eye(3), np.array([3.0, -2.0, 1.0]), 0.0)  # world -> canonical, rotation unknown
    sim = face_mesh_rotation(cams, 0, FaceDetection(full[:, :2] + c, full[:, 2]), init)
    assert rotation_angle_deg(sim.R, R_true.T) < 1e-4
    centre = reference_array().mean(0)  # the six reference landmarks' centroid keeps its world position
    assert np.allclose(sim.inverse().apply(centre[None]), init.inverse().apply(centre[None]), atol=1e-9)
    with pytest.raises(ValueError, match="one_view_rotation"):
        PlacementConfig(one_view_rotation="bogus")


def test_one_view_face_mesh_rotation_gives_the_fit_the_same_camera(heads):
    for scene, gt in heads:
        one = foreign_frame(scene.subset([0]), (0, 50, -60), 0.8)
        placed = place_scene(one, config=PlacementConfig(one_view_rotation="mesh"))
        S, S_gt = placed.placement.similarity, canonical_similarity(gt.landmarks)
        c = S.apply(one.world_cameras().centers)[0] - [0, 25, 0]
        c_gt = S_gt.apply(one.world_cameras().centers)[0] - [0, 25, 0]
        # measured on these 4 portraits (512²): frame 3.3 / 2.7 / 2.2 / 1.7 deg, camera direction 3.0 / 2.4 / 2.0 / 1.4
        # (the six-landmark PnP: 3.9 / 1.0 / 4.7 / 2.2 and 3.6 / 0.4 / 4.3 / 1.9)
        assert np.degrees(np.arccos(c @ c_gt / np.linalg.norm(c) / np.linalg.norm(c_gt))) < 5.0
        assert rotation_angle_deg(S.R, S_gt.R) < 5.0


def _template_views(sim_can_to_world: Similarity, cams: Cameras) -> list[np.ndarray]:
    tpl = load_face_template()
    full = np.zeros((468, 3))
    full[tpl.index] = tpl.points
    uv, _ = cams.project(sim_can_to_world.apply(full))
    return list(uv)


def _rig(n=3, res=400):
    K = np.stack([intrinsics(15.0, res, res)] * n)
    eyes = [np.array([1200 * np.sin(a), 30.0, 1200 * np.cos(a)]) for a in np.radians([0, 35, -35, 20][:n])]
    c2w = np.stack([look_at(e, np.array([0.0, 20.0, 40.0])) for e in eyes])
    return Cameras(K, c2w, res, res)


def _scene(cams, units="mm"):
    return Scene(np.zeros((len(cams), cams.height, cams.width, 3), np.float32), None,
                 cams.transformed(np.linalg.inv(np.diag([200.0, 200, 200, 1]))), np.diag([200.0, 200, 200, 1]),
                 units=units)


def test_exact_detections_recover_the_similarity_and_a_bad_view_is_dropped():
    truth = Similarity(1.07, np.eye(3), np.array([5.0, -8.0, 12.0]), 0.0)  # canonical -> world
    cams = _rig(4)
    det = _template_views(truth, cams)
    placed = place_scene(_scene(cams), detections=det)
    S = placed.placement.similarity
    assert abs(S.scale - 1 / 1.07) < 1e-3
    assert np.abs(S.inverse().t - truth.t).max() < 0.5
    # reported errors are of the reference landmarks against the detected six, which sit a few mm off the
    # ICT vertices on the template too (1 mm = 1.3 px here)
    assert max(max(e for e in v if e is not None) for v in placed.placement.reprojection_px.values()) < 8.0

    det[3] = det[3] + np.array([40.0, -25.0])  # one view's face is off: dropped, and said so
    placed = place_scene(_scene(cams), detections=det)
    assert placed.placement.views_dropped == (3,)
    assert np.abs(placed.placement.similarity.inverse().t - truth.t).max() < 0.5
    assert any("disagree" in w for w in placed.placement.warnings)

    det[3] = None  # no face in a view: placed from the others
    placed = place_scene(_scene(cams), detections=det)
    assert placed.placement.views_without_face == (3,) and len(placed.placement.views_used) == 3
    # the placement keeps what it saw (the landmark start of a fit reads it), not in report.json
    assert len(placed.placement.detections) == 4 and placed.placement.detections[3] is None
    assert np.array_equal(placed.placement.detections[0], det[0])
    assert "detections" not in placed.placement.summary()


def test_no_face_anywhere_and_cameras_behind_are_clear_errors():
    cams = _rig(3)
    with pytest.raises(InputError, match="no face found in any"):
        place_scene(_scene(cams), "case_dir", detections=[None, None, None])
    det = _template_views(Similarity(1.0, np.eye(3), np.zeros(3), 0.0), cams)
    flipped = cams.c2w.copy()
    flipped[:, :3, 2] *= -1  # z backwards: a wrong camera convention (and a reflection)
    flipped[:, :3, 0] *= -1
    bad = Cameras(cams.K, flipped, cams.width, cams.height)
    with pytest.raises(InputError, match="behind") as e:
        place_scene(_scene(bad), "case_dir", detections=det)
    assert "\n" not in str(e.value) and "case_dir" in str(e.value)


def _sym_chamfer(a, b) -> float:
    r = surface_chamfer(MeshData(np.asarray(a.vertices), np.asarray(a.faces), "a"),
                        MeshData(np.asarray(b.vertices), np.asarray(b.faces), "b"), n=200_000)
    return float(r.chamfer)


@pytest.mark.parametrize("views", [[0], [0, 1, 2]])
def test_mesh_does_not_depend_on_the_files_scale_mat(heads, tmp_path, views):
    """The same scene written with three scale_mats (shifted 60 mm; scaled 1.3; both) fits to the same
    world-frame mesh (a short real fit with the shipped prior)."""
    from neuhead.api import fit_scene

    scene, _ = heads[0]
    meshes = []
    for k, (shift, scale) in enumerate([((60, 0, 0), 1.0), ((0, 0, 0), 1.3), ((60, 0, 0), 1.3)]):
        folder = write_neus(foreign_frame(scene.subset(views), shift, scale), tmp_path / f"case{k}")
        placed = load_input(folder)
        assert placed.placement.method == ("pnp" if len(views) == 1 else "triangulation")
        recon = fit_scene(placed, "quick", "default", iters=16, seed=0)
        meshes.append(recon.extract_mesh(96))
    for m in meshes[1:]:
        assert _sym_chamfer(meshes[0], m) < 1.0


def test_cli_no_face_anywhere_is_one_line_and_writes_nothing(tmp_path):
    """``neuhead fit`` with the prior on a scene without a face: exit 2, one line naming the folder and
    the way out (--frame file), and no output folder. A subprocess, so stderr is what a terminal shows."""
    import subprocess
    import sys

    from neuhead.data.analytic import make_sample_scene

    case = write_neus(make_sample_scene(n_views=4, res=64, seed=1), tmp_path / "snowman")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "neuhead.cli", "fit", str(case), "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(err) == 1 and "no face found in any" in err[0] and "snowman" in err[0] and "--frame file" in err[0]
    assert not out.exists() or list(out.iterdir()) == []


def test_api_images_with_world_cameras_are_placed_like_a_folder(heads, tmp_path):
    """``neuhead.fit(images, cameras=...)``: cameras in the images' own world frame (mm), placed from the
    images exactly as the same views in a NeuS folder are."""
    scene, _ = heads[1]
    from_arrays = load_input(list(scene.images), cameras=scene.world_cameras(), masks=list(scene.masks))
    from_folder = load_input(write_neus(foreign_frame(scene), tmp_path / "case"))
    assert from_arrays.placement.method == from_folder.placement.method == "triangulation"
    np.testing.assert_allclose(from_arrays.to_world, from_folder.to_world, atol=1e-3)
    np.testing.assert_allclose(from_arrays.world_cameras().c2w, scene.world_cameras().c2w, atol=1e-6)


def test_a_landmark_start_fit_records_the_face_it_fitted(heads, tmp_path):
    """``scene_init="landmarks"`` on a placed one-view folder: the ICT head read from its image is in the fit's
    report, and the face anchor is logged by the stages."""
    from neuhead.api import fit_config
    from neuhead.pipeline import fit
    from neuhead.prior import load_prior

    scene, _ = heads[0]
    placed = load_input(write_neus(foreign_frame(scene.subset([0]), (60, 0, 0), 1.3), tmp_path / "case"))
    prior = load_prior()
    cfg = fit_config("quick", prior.config.model, 8, seed=0)
    cfg = replace(cfg, scene_init="landmarks", scene_init_iters=20, loss=replace(cfg.loss, face_anchor=1.0))
    recon = fit(placed, cfg, prior.model, progress=False)
    # one view with its image: the learned reader's 68 landmarks, the pose fitted to them
    assert recon.report["face_shape"]["points"] == 68 and recon.report["face_shape"]["rms_px"] < 5
    assert recon.report["stages"]["stage1"]["final"]["face_anchor"] > 0
