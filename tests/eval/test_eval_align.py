import numpy as np
import pytest

from eval.align import Similarity, h3ds_icp, h3ds_landmark_alignment, icp, landmark_similarity, umeyama
from evalhelpers import rotation


def _mirror(p):
    return p * np.array([-1.0, 1.0, 1.0])


def test_umeyama_recovers_similarity_and_never_reflects():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(20, 3))
    R = rotation([1, 2, 3], 40)
    T = Similarity(1.7, R, np.array([1.0, -2.0, 0.5]))
    est = umeyama(src, T.apply(src))
    assert est.scale == pytest.approx(1.7, abs=1e-10)
    np.testing.assert_allclose(est.R, R, atol=1e-10)
    assert est.residual < 1e-10
    # a mirrored target: the best *proper* rotation, never det = -1
    est = umeyama(src, _mirror(src))
    assert np.linalg.det(est.R) == pytest.approx(1.0)
    assert est.residual > 0.1


def test_landmark_similarity_uses_shared_names_and_rejects_collinear():
    R = rotation([0, 1, 0], 25)
    T = Similarity(0.9, R, np.array([3.0, 0, 1]))
    src = {"a": np.array([0.0, 0, 0]), "b": np.array([1.0, 0, 0]), "c": np.array([0.0, 1, 0]),
           "d": np.array([0.0, 0, 1]), "only_src": np.array([5.0, 5, 5])}
    dst = {k: T.apply(v[None])[0] for k, v in src.items() if k != "only_src"}
    est = landmark_similarity(src, dst)
    np.testing.assert_allclose(est.matrix, T.matrix, atol=1e-10)
    with pytest.raises(ValueError, match="collinear"):
        landmark_similarity({k: np.array([i, 0.0, 0]) for i, k in enumerate("abc")},
                            {k: np.array([i, 1.0, 0]) for i, k in enumerate("abc")})


@pytest.mark.parametrize("with_scale", [False, True])
def test_icp_recovers_known_transform_on_head(head, with_scale):
    v, _, _ = head
    s = 1.06 if with_scale else 1.0
    T = Similarity(s, rotation([0.3, 1, 0.2], 6), np.array([4.0, -3.0, 5.0]))
    src = T.inverse().apply(v)  # so that T maps src back onto v
    est = icp(src, v, with_scale=with_scale, max_iterations=100, tolerance=1e-9)
    assert est.scale == pytest.approx(s, abs=1e-4)
    np.testing.assert_allclose(est.R, T.R, atol=1e-4)
    np.testing.assert_allclose(est.t, T.t, atol=0.05)  # mm
    assert est.residual < 0.01 and est.iterations > 1
    assert np.linalg.det(est.R) > 0


def test_library_icp_never_reflects_but_h3ds_mode_does():
    # points spread in y, z with small |x|: each point's nearest mirror image is its own
    rng = np.random.default_rng(1)
    a = np.c_[rng.uniform(0.5, 1.0, 60) * rng.choice([-1, 1], 60) * 0.2, rng.uniform(-50, 50, (60, 2))]
    a[:, 0] += 0.3  # make the set asymmetric in x
    b = _mirror(a)
    ours = icp(a, b, with_scale=True)
    assert np.linalg.det(ours.R) > 0
    assert ours.residual > 0.05
    theirs = h3ds_icp(a, b)
    assert theirs.reflected
    assert theirs.scale == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(theirs.apply_inverse(b), a, atol=1e-9)


def test_h3ds_landmark_alignment_matches_trimesh_procrustes_without_reflection():
    rng = np.random.default_rng(2)
    gt = rng.normal(size=(6, 3)) * 30
    T = Similarity(1.2, rotation([1, 0, 0], 30), np.array([0, 10.0, 0]))
    pred = T.inverse().apply(gt)
    al = h3ds_landmark_alignment(pred, gt)
    np.testing.assert_allclose(al.matrix, T.matrix, atol=1e-9)
    assert not al.reflected
    al = h3ds_landmark_alignment(_mirror(pred), gt)
    assert not al.reflected


def test_similarity_inverse_roundtrip():
    T = Similarity(2.0, rotation([1, 1, 0], 33), np.array([1.0, 2, 3]))
    p = np.random.default_rng(3).normal(size=(5, 3))
    np.testing.assert_allclose(T.inverse().apply(T.apply(p)), p, atol=1e-12)


def test_icp_rejects_nan_input():
    with pytest.raises(ValueError, match="NaN"):
        icp(np.array([[0, 0, 0], [1, 0, 0], [np.nan, 0, 0]]), np.eye(3))
