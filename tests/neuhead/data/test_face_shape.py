"""The face's shape from detected face-mesh points: the morphable-model fit recovers a head it did not see."""

import numpy as np
import pytest

from neuhead.cameras import Cameras
from neuhead.data.canonical import CANONICAL_TO_WORLD
from neuhead.data.face_shape import FaceShapeConfig, _basis, fit_face_shape


def _frontal_camera(res=256, dist_mm=600.0, fov_deg=30.0):
    """A camera 600 mm in front of the canonical face (+z), looking at it, in the canonical unit frame."""
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    f = 0.5 * res / np.tan(np.radians(fov_deg) / 2)
    K = np.array([[f, 0, res / 2], [0, f, res / 2], [0, 0, 1.0]])
    c2w = np.eye(4)
    c2w[:3, :3] = np.diag([1.0, -1.0, -1.0])  # OpenCV: x right, y down, z forward (towards -z of the head)
    c2w[:3, 3] = (np.array([0.0, 20.0, 130.0 + dist_mm]) - t0) / s0
    return Cameras(K[None], c2w[None], res, res)


def _detections(cams, points_mm):
    """A 468-point face mesh whose template points are ``points_mm`` (canonical mm) projected."""
    b = _basis(FaceShapeConfig().identity_modes, FaceShapeConfig().face_radius_mm)
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    full = np.zeros((468, 3))
    full[:] = points_mm.mean(0)
    full[b.template.index] = points_mm
    uv, depth = cams.project((full - t0) / s0)
    assert (depth > 0).all()
    return uv[0]


def test_fit_recovers_an_unseen_identity_from_one_view():
    b = _basis(FaceShapeConfig().identity_modes, FaceShapeConfig().face_radius_mm)
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1.0, len(b.identity))
    truth_pts = b.base + np.einsum("k,kmd->md", w, b.d_identity)
    truth = b.neutral + np.einsum("k,knd->nd", w, b.identity)
    cams = _frontal_camera()
    det = _detections(cams, truth_pts)
    det = det + rng.normal(0, 0.3, det.shape)  # detector noise, px
    shape = fit_face_shape(cams, [det])
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    face_v = np.unique(shape.faces[shape.face_faces])
    fitted_mm = shape.vertices * s0 + t0
    err_fit = np.linalg.norm(fitted_mm[face_v] - truth[face_v], axis=1).mean()
    err_neutral = np.linalg.norm(b.neutral[face_v] - truth[face_v], axis=1).mean()
    assert err_fit < 0.5 * err_neutral, (err_fit, err_neutral)
    assert shape.rms_px < 1.5 and shape.points > 300
    assert shape.vertices.shape == b.neutral.shape and len(shape.face_faces) > 1000


def test_the_neutral_stays_the_neutral_and_no_face_is_an_error():
    b = _basis(FaceShapeConfig().identity_modes, FaceShapeConfig().face_radius_mm)
    cams = _frontal_camera()
    shape = fit_face_shape(cams, [_detections(cams, b.base)])
    s0, t0 = CANONICAL_TO_WORLD[0, 0], CANONICAL_TO_WORLD[:3, 3]
    assert np.abs(shape.vertices * s0 + t0 - b.neutral).max() < 0.5  # mm
    with pytest.raises(ValueError, match="no view"):
        fit_face_shape(cams, [None])


def test_closest_on_triangles_matches_trimesh_brute_force():
    import trimesh

    from neuhead.data.face_shape import closest_on_triangles

    mesh = trimesh.creation.icosphere(subdivisions=2)
    pts = np.random.default_rng(0).normal(size=(40, 3)) * 1.3
    tri, bary = closest_on_triangles(mesh.vertices, mesh.faces, pts, candidates=8)
    ours = np.einsum("mj,mjd->md", bary, mesh.vertices[mesh.faces[tri]])
    ref, dist, _ = trimesh.proximity.closest_point_naive(mesh, pts)
    assert np.allclose(np.linalg.norm(ours - pts, axis=1), dist, atol=1e-9)
    assert np.allclose(ours, ref, atol=1e-6)
