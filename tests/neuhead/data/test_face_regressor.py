"""The learned one-image face reader: its patch sampler against the reference, its normalisation, the shipped
asset, and on a rendered head it has never seen: better landmarks than its start, a face closer than the neutral."""

import numpy as np
import pytest

from neuhead.data.face_regressor import (GRID, load_face_regressor, normalised, patch_features,
                                         patch_features_reference, refine_landmarks, regress_face, ridge,
                                         save_face_regressor, similarity_to, start_landmarks)


def test_patch_features_match_the_reference():
    rng = np.random.default_rng(0)
    grey = rng.uniform(0, 1, (64, 80)).astype(np.float32)
    pts = rng.uniform(-4, 84, (7, 2))  # some near or past the border (edges replicated)
    a = np.radians(17.0)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    fast = patch_features(grey, pts, 5.5, R)
    ref = patch_features_reference(grey, pts, 5.5, R)
    assert fast.shape == (7, 3 * GRID * GRID)
    np.testing.assert_allclose(fast, ref, atol=2e-4)


def test_normalisation_removes_a_similarity():
    rng = np.random.default_rng(1)
    pts = rng.normal(0, 1, (30, 2))
    ref = pts - pts.mean(0)
    ref /= np.linalg.norm(ref)
    a = np.radians(-25.0)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = 3.7 * pts @ R.T + np.array([40.0, -12.0])
    np.testing.assert_allclose(normalised(moved, ref), normalised(pts, ref), atol=1e-9)
    c, s, Rn = similarity_to(pts, ref)
    np.testing.assert_allclose(Rn @ Rn.T, np.eye(2), atol=1e-12)


def test_ridge_recovers_a_linear_map():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (400, 5)) * [1, 2, 3, 4, 5] + 7
    A = rng.normal(0, 1, (5, 3))
    y = x @ A + [1.0, -2.0, 0.5]
    np.testing.assert_allclose(ridge(x, y, 1e-9)(x), y, atol=1e-5)


def test_the_shipped_asset_loads_and_round_trips(tmp_path):
    reg = load_face_regressor()
    assert reg.ref468.shape == (468, 2) and reg.ref68.shape == (68, 2) and reg.identity_modes == 60
    assert [h for h, _ in reg.stages] == sorted((h for h, _ in reg.stages), reverse=True)
    save_face_regressor(reg, tmp_path / "r.npz")
    again = load_face_regressor(tmp_path / "r.npz")
    rng = np.random.default_rng(3)
    grey = rng.uniform(0, 1, (256, 256)).astype(np.float32)
    pts = reg.ref468 * reg.face_scale + 128
    np.testing.assert_allclose(refine_landmarks(again, grey, pts), refine_landmarks(reg, grey, pts), atol=1e-6)
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.fixture(scope="module")
def unseen_render():
    pytest.importorskip("mediapipe")
    from neuhead.data.face import detect_faces
    from neuhead.data.synthetic.scene import synthesize

    s = synthesize(9_000_000, n_views=1, res=256, rig="360")  # a benchmark head: never a training render
    faces = detect_faces(s.scene.images[0])
    assert faces
    return s, faces[0].points


def test_it_reads_an_unseen_head_better_than_its_start(unseen_render):
    from neuhead.data.synthetic.head import load_head_model

    s, pts = unseen_render
    reg = load_face_regressor()
    est = regress_face(reg, s.scene.images[0], pts)
    truth = s.scene.world_cameras().project(s.gt.vertices[s.gt.landmarks68])[0][0]
    start = start_landmarks(reg.start, normalised(pts, reg.ref468), similarity_to(pts, reg.ref468))
    err = np.linalg.norm(est.landmarks - truth, axis=1).mean()
    err_start = np.linalg.norm(start - truth, axis=1).mean()
    assert err < 0.85 * err_start and err < 1.2, (err, err_start)

    model = load_head_model()
    tip = model.neutral[model.landmark_ids()["nose_tip"]]
    ids = np.flatnonzero(np.linalg.norm(model.neutral - tip, axis=1) < 95)
    w = np.concatenate([est.identity, est.expression])
    true_w = np.concatenate([s.gt.info["identity"], list(s.gt.info["expression"].values())])
    B = np.concatenate([model.identity[:reg.identity_modes], model.expression], 0)[:, ids].astype(np.float64)
    e = np.linalg.norm(np.einsum("k,knd->nd", w - true_w, B), axis=1).mean()
    e0 = np.linalg.norm(np.einsum("k,knd->nd", true_w, B), axis=1).mean()
    assert e < 0.75 * e0, (e, e0)


def test_fit_face_shape_uses_it_for_one_view_and_poses_the_head(unseen_render):
    from neuhead.data.canonical import CANONICAL_TO_WORLD
    from neuhead.data.face_shape import fit_face_shape

    s, pts = unseen_render
    shape = fit_face_shape(s.scene.cameras, [pts], images=s.scene.images)
    assert shape.points == 68 and shape.rms_px < 2.0
    least = fit_face_shape(s.scene.cameras, [pts])  # without the image: the least-squares fit
    assert least.points > 300
    # in the true canonical frame (the synthetic scene is placed exactly): the face vertices against the truth
    to_canon = s.gt.to_canonical
    truth = s.gt.bald @ to_canon[:3, :3].T + to_canon[:3, 3]  # the skin: the ICT head has no hair
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    face_v = np.unique(shape.faces[shape.face_faces])
    from eval.align import umeyama

    def errors(sh):  # as placed, and the shape alone (after the best similarity)
        P, T = sh.vertices[face_v] * s0 + t0, truth[face_v]
        return np.linalg.norm(P - T, axis=1).mean(), np.linalg.norm(umeyama(P, T).apply(P) - T, axis=1).mean()

    (raw, shape_err), (raw_least, shape_least) = errors(shape), errors(least)
    assert shape_err < 0.8 * shape_least and shape_err < 1.5, (shape_err, shape_least)
    assert raw < 3.0, raw  # the depth along the line of sight stays the placement's
