"""Canonical head frame: Umeyama recovery, DLT triangulation, canonicalize keeps the world."""

import numpy as np

from neuhead.cameras import Cameras, intrinsics, look_at
from neuhead.data.canonical import (CANONICAL_TO_WORLD, LANDMARK_NAMES, REFERENCE_LANDMARKS, canonical_similarity,
                                    canonicalize, reference_array, triangulate)
from neuhead.data.scene import Scene


def _random_similarity(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    return float(rng.uniform(0.2, 5.0)), R, rng.normal(0, 300, 3)


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    for _ in range(5):
        s, R, t = _random_similarity(rng)
        # landmarks in some world: world = s R ref + t; the canonical similarity must invert it
        world = {n: s * R @ p + t for n, p in REFERENCE_LANDMARKS.items()}
        sim = canonical_similarity(world)
        assert abs(sim.scale - 1 / s) < 1e-6 / s
        assert np.abs(sim.R - R.T).max() < 1e-6
        assert np.abs(sim.apply(np.stack(list(world.values()))) - reference_array()).max() < 1e-6


def _ring_cameras(n=5, res=200):
    K = np.stack([intrinsics(20.0, res, res)] * n)
    eyes = [np.array([600 * np.sin(a), 50.0, 600 * np.cos(a)]) for a in np.linspace(-0.8, 0.8, n)]
    c2w = np.stack([look_at(e, np.array([0.0, 20.0, 60.0])) for e in eyes])
    return Cameras(K, c2w, res, res)


def test_triangulation_recovers_landmarks():
    cams = _ring_cameras()
    X = reference_array()
    uv, _ = cams.project(X)
    assert np.abs(triangulate(cams, uv) - X).max() < 1e-6
    noisy = uv + np.random.default_rng(1).normal(0, 0.3, uv.shape)
    assert np.abs(triangulate(cams, noisy) - X).max() < 3.0
    valid = np.ones(uv.shape[:2], bool)
    valid[:3, 0] = False  # seen by 2 views only
    assert np.abs(triangulate(cams, uv, valid) - X).max() < 1e-6


def test_canonicalize_moves_the_unit_frame_not_the_world():
    rng = np.random.default_rng(2)
    s, R, t = _random_similarity(rng)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = s * R, t
    world_lms = {n: s * R @ p + t for n, p in REFERENCE_LANDMARKS.items()}
    cams_world = _ring_cameras(3, 32).transformed(T)
    scene = Scene(np.zeros((3, 32, 32, 3), np.float32), None, cams_world, np.eye(4), landmarks=world_lms)
    out = canonicalize(scene)
    # to_world maps the canonical unit sphere onto the world: unit -> canonical mm -> world
    assert np.allclose(out.to_world, T @ CANONICAL_TO_WORLD, atol=1e-6 * s * 200)
    # projections of world points are unchanged
    pts = np.stack(list(world_lms.values()))
    uv0, _ = scene.world_cameras().project(pts)
    uv1, _ = out.world_cameras().project(pts)
    assert np.abs(uv0 - uv1).max() < 1e-6
    # and the landmarks sit at the reference in the unit sphere
    inv = np.linalg.inv(out.to_world)
    unit = pts @ inv[:3, :3].T + inv[:3, 3]
    ref_unit = (reference_array() - CANONICAL_TO_WORLD[:3, 3]) / CANONICAL_TO_WORLD[0, 0]
    assert np.abs(unit - ref_unit).max() < 1e-9
    assert LANDMARK_NAMES == tuple(REFERENCE_LANDMARKS)


def test_canonical_frame_from_2d_landmarks_of_a_synthetic_scene():
    """2D landmarks (projected ground truth, one view missing some) -> DLT -> Umeyama gives the
    same canonical frame as the 3D ground truth."""
    from neuhead.data.canonical import canonicalize_from_2d
    from neuhead.data.synthetic import make_head_scene

    scene, gt = make_head_scene(2, n_views=4, res=32, rig="portrait")
    uv, _ = scene.world_cameras().project(np.stack([gt.landmarks[n] for n in LANDMARK_NAMES]))
    pts = {n: uv[:, j].copy() for j, n in enumerate(LANDMARK_NAMES)}
    pts["left_eye"][1] = np.nan  # not detected in view 1
    plain = Scene(scene.images, scene.masks, scene.world_cameras(), np.eye(4))  # world frame, no landmarks
    out = canonicalize_from_2d(plain, pts)
    assert np.abs(out.to_world - scene.to_world).max() < 1e-6 * 200
    assert np.abs(out.cameras.c2w - scene.cameras.c2w).max() < 1e-6
    for n in LANDMARK_NAMES:
        assert np.abs(out.landmarks[n] - gt.landmarks[n]).max() < 1e-6
