import numpy as np
import pytest

from eval.align import Similarity
from eval.chamfer import (EvalConfig, chamfer_points, evaluate_h3ds, evaluate_surface, fscore,
                          nearest_distances, nearest_distances_bruteforce, region_within, sample_surface,
                          surface_chamfer)
from eval.meshio import EvalInputError, MeshData
from evalhelpers import rotation

CUBE = np.array([[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)]) * 10


def test_nearest_distances_match_bruteforce():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 3)), rng.normal(size=(300, 3))
    np.testing.assert_allclose(nearest_distances(a, b), nearest_distances_bruteforce(a, b), atol=1e-12)


def test_h3ds_of_identical_meshes_is_zero(head):
    v, f, nose = head
    m = MeshData(v, f)
    ev = evaluate_h3ds(m, m, nose_tip=nose)
    assert ev.head.mean < 1e-9 and ev.face_sphere.mean < 1e-9
    assert ev.head.alignment.scale == pytest.approx(1.0, abs=1e-9)
    assert chamfer_points(v, v).chamfer == 0.0


def test_h3ds_matches_hand_computed_value():
    # GT: cube corners (the ICP region) + one vertex above the top face, at (0, 0, 30).
    gt = np.vstack([CUBE, [[0.0, 0.0, 30.0]]])
    icp_region = np.arange(8)
    # nearest cube corner to (0,0,30) is (±10, ±10, 10): sqrt(100 + 100 + 400) = sqrt(600)
    expected = np.sqrt(600.0) / 9
    for T in (Similarity(1.0, np.eye(3), np.zeros(3)),
              Similarity(1.1, rotation([0, 0, 1], 5), np.array([2.0, -1.0, 0.5]))):
        pred = MeshData(T.apply(CUBE), np.zeros((0, 3)))  # only vertices count in the H3DS metric
        ev = evaluate_h3ds(pred, MeshData(gt, np.zeros((0, 3))), icp_region=icp_region, region=icp_region)
        assert ev.head.mean == pytest.approx(expected, abs=1e-9)
        assert ev.head.alignment.scale == pytest.approx(T.scale, abs=1e-9)
        np.testing.assert_allclose(ev.head.distances[:8], 0, atol=1e-9)
        assert ev.head.distances[8] == pytest.approx(np.sqrt(600.0), abs=1e-9)
        assert ev.region.mean == pytest.approx(0.0, abs=1e-9)


def test_h3ds_distances_are_in_input_units(head):
    v, f, nose = head
    pred = v + 0.8 * np.sin(v / 7.0)  # a smooth, non-rigid deformation (mm)
    ev_mm = evaluate_h3ds(MeshData(pred, f), MeshData(v, f), nose_tip=nose)
    ev_cm = evaluate_h3ds(MeshData(pred / 10, f), MeshData(v / 10, f), nose_tip=nose / 10,
                          config=EvalConfig(face_radius=9.5))
    assert 0.1 < ev_mm.head.mean < 1.5
    # trimesh's ICP stops on an ABSOLUTE cost change (1e-5 units^2), so the toolbox protocol is
    # only scale-equivariant up to where it stops: same number to 0.2 %, not to rounding
    assert ev_mm.head.mean == pytest.approx(10 * ev_cm.head.mean, rel=2e-3)
    assert ev_mm.face_sphere.mean == pytest.approx(10 * ev_cm.face_sphere.mean, rel=2e-3)
    # our own ICP stops on a relative change: the surface protocol scales exactly
    cfg = EvalConfig(n_samples=5000)
    s_mm = evaluate_surface(MeshData(pred, f), MeshData(v, f), nose_tip=nose, config=cfg)
    s_cm = evaluate_surface(MeshData(pred / 10, f), MeshData(v / 10, f), nose_tip=nose / 10,
                            config=EvalConfig(n_samples=5000, face_radius=9.5, fscore_threshold=0.1))
    assert s_mm.head.chamfer.chamfer == pytest.approx(10 * s_cm.head.chamfer.chamfer, rel=1e-6)
    assert s_mm.face_sphere.chamfer.fscore == pytest.approx(s_cm.face_sphere.chamfer.fscore, abs=1e-9)


def test_region_within_radius():
    rng = np.random.default_rng(1)
    v = rng.uniform(-200, 200, (5000, 3))
    c = np.array([10.0, 20.0, 30.0])
    idx = region_within(v, c, 95.0)
    d = np.linalg.norm(v - c, axis=1)
    assert set(idx) == set(np.flatnonzero(d <= 95.0))
    assert d[idx].max() <= 95.0 and (np.delete(d, idx) > 95.0).all()


def test_face_sphere_on_head_is_the_front_of_the_face(head):
    v, f, nose = head
    idx = region_within(v, nose, 95.0)
    assert 0.2 * len(v) < len(idx) < len(v)
    assert v[idx, 2].mean() > v[:, 2].mean()  # the face looks along +z in ICT-FaceKit


def test_surface_chamfer_zero_on_identical_and_grows_with_offset(head):
    v, f, _ = head
    m = MeshData(v, f)
    assert surface_chamfer(m, m, n=5000, seed=3).chamfer == 0.0
    shifted = MeshData(v + np.array([0.0, 0.0, 0.5]), f)
    r = surface_chamfer(shifted, m, n=20000, seed=3, threshold=1.0)
    assert 0.05 < r.chamfer <= 0.5 + 1e-9  # a pure shift of 0.5 mm bounds every distance
    assert r.fscore == pytest.approx(1.0)
    r = surface_chamfer(shifted, m, n=20000, seed=3, threshold=0.01)
    assert r.fscore < 0.5


def test_sample_surface_is_seeded_and_on_the_surface():
    tri = np.array([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]])
    p1, _ = sample_surface(tri, np.array([[0, 1, 2]]), 1000, seed=5)
    p2, _ = sample_surface(tri, np.array([[0, 1, 2]]), 1000, seed=5)
    np.testing.assert_array_equal(p1, p2)
    assert np.all(p1[:, 2] == 0) and np.all(p1[:, :2] >= -1e-12) and np.all(p1[:, :2].sum(1) <= 2 + 1e-12)


def test_fscore_by_hand():
    p, r, f = fscore(np.array([0.1, 0.5, 2.0, 3.0]), np.array([0.2, 0.9]), 1.0)
    assert (p, r) == (0.5, 1.0) and f == pytest.approx(2 * 0.5 / 1.5)


def test_surface_protocol_removes_similarity(head):
    v, f, nose = head
    T = Similarity(1.03, rotation([0, 1, 0], 3), np.array([2.0, 1.0, -1.0]))
    ev = evaluate_surface(MeshData(T.apply(v), f), MeshData(v, f), nose_tip=nose,
                          config=EvalConfig(n_samples=20000))
    assert ev.head.alignment.scale == pytest.approx(1.03, abs=1e-3)
    assert np.linalg.det(ev.head.alignment.R) > 0
    assert ev.head.chamfer.chamfer < 1e-6
    # a region is compared by independent samples: its floor is the sampling noise, which the
    # similarity must not change (same seed, same faces -> the same samples after alignment)
    same = evaluate_surface(MeshData(v, f), MeshData(v, f), nose_tip=nose, config=EvalConfig(n_samples=20000))
    assert ev.face_sphere.chamfer.chamfer == pytest.approx(same.face_sphere.chamfer.chamfer, abs=1e-6)
    assert same.face_sphere.chamfer.chamfer < 1.0


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors(head):
    v, f, nose = head
    gt = MeshData(v, f, "gt.obj")
    with pytest.raises(EvalInputError, match="empty"):
        evaluate_h3ds(MeshData(np.zeros((0, 3)), np.zeros((0, 3)), "pred.obj"), gt)
    bad = v.copy()
    bad[7] = np.nan
    with pytest.raises(EvalInputError, match=r"pred.obj: 1 of .* NaN.*index 7"):
        evaluate_h3ds(MeshData(bad, f, "pred.obj"), gt)
    with pytest.raises(EvalInputError, match="out of range"):
        evaluate_h3ds(MeshData(v, f), gt, region=np.array([0, 5, len(v) + 3]))
    # a prediction in metres against a ground truth in mm
    with pytest.raises(EvalInputError, match="different units"):
        evaluate_h3ds(MeshData(v / 1000, f, "pred.obj"), gt)


def test_absurd_icp_scale_is_an_error_and_large_scale_a_warning(head):
    v, f, nose = head
    gt = MeshData(v, f, "gt.obj")
    # 3x bigger passes the extent check with a loose config but the ICP scale flags it
    with pytest.raises(EvalInputError, match="ICP needed a scale"):
        evaluate_h3ds(MeshData(3 * v, f, "pred.obj"), gt, config=EvalConfig(max_extent_ratio=10))
    ev = evaluate_h3ds(MeshData(1.3 * v, f, "pred.obj"), gt, nose_tip=nose)
    assert any("far from 1" in w for w in ev.warnings)


def test_read_obj_keeps_every_vertex_in_order(tmp_path):
    from eval.meshio import read_mesh

    p = tmp_path / "q.obj"
    p.write_text("v 9 9 9\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvn 0 0 1\nf 2/1/1 3/1/1 5/1/1 4/1/1\nf -4 -3 -1\n")
    m = read_mesh(p)
    assert m.vertices.tolist()[0] == [9, 9, 9] and len(m.vertices) == 5  # unreferenced vertex 0 kept
    assert m.faces.tolist() == [[1, 2, 4], [1, 4, 3], [1, 2, 4]]
    p.write_text("v 0 0 0\nv 1 0 0\nf 1 2 7\n")
    with pytest.raises(EvalInputError, match="face indices span"):
        read_mesh(p)


def test_h3ds_accuracy_sees_an_inner_wall_the_toolbox_score_does_not(head):
    v, f, nose = head
    c = v.mean(0)
    inner = c + (v - c) * 0.8  # a second, inner wall: what a hollow fitted head gives
    both = MeshData(np.vstack([v, inner]), np.vstack([f, f + len(v)]))
    ev = evaluate_h3ds(both, MeshData(v, f), nose_tip=nose, icp_region=np.arange(len(v)))
    assert ev.head.mean < 1e-6  # ground truth -> prediction: blind to it
    single = evaluate_h3ds(MeshData(v, f), MeshData(v, f), nose_tip=nose)
    assert single.head.accuracy == pytest.approx(0.0, abs=1e-9)
    # prediction -> truth: half the vertices are ~20 % of the size away
    assert ev.head.accuracy > 0.3 * nearest_distances(inner, v).mean()
    assert ev.summary()["head"]["accuracy_pred_to_gt"] == ev.head.accuracy
