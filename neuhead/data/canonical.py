"""The canonical head frame: every head sits the same way in the unit sphere.

Six landmarks (the H3DS set): ``right_eye``, ``left_eye`` (the *outer* eye corners, iBUG 36 / 45),
``nose_tip`` (30), ``nose_base`` (subnasale, 33), ``right_lips``, ``left_lips`` (mouth corners,
48 / 54); "right" is the subject's right. The reference positions are those vertices on the
ICT-FaceKit neutral head, in mm (+Y up, face towards +Z, x = 0 the symmetry plane).

For a scene: landmarks in its world frame (triangulated from 2D detections, or ground truth)
-> similarity ``S`` (Umeyama, with scale) world -> canonical mm -> the scene's
``to_world = S^-1 @ CANONICAL_TO_WORLD`` (unit sphere -> canonical mm -> world). The world frame
and its units are kept (meshes go back to the input's own frame); only the unit-sphere frame is
shared by every scene. ``CANONICAL_TO_WORLD`` puts the head, some neck and a hair volume inside a
radius of about 0.9.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eval.align import Similarity, umeyama
from neuhead.cameras import Cameras
from neuhead.data.scene import Scene

LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "nose_base", "right_lips", "left_lips")

#: reference landmarks (mm, canonical frame) = the ICT-FaceKit neutral head's vertices
REFERENCE_LANDMARKS = {
    "right_eye": np.array([-44.59, 34.32, 86.03]),
    "left_eye": np.array([44.59, 34.32, 86.03]),
    "nose_tip": np.array([0.0, 4.06, 130.69]),
    "nose_base": np.array([0.0, -12.03, 115.66]),
    "right_lips": np.array([-25.35, -35.2, 101.88]),
    "left_lips": np.array([25.35, -35.2, 101.88]),
}

#: centre (mm) and radius (mm per unit) of the unit sphere in the canonical frame
CANONICAL_CENTER_MM = np.array([0.0, 25.0, 0.0])
CANONICAL_SCALE_MM = 200.0
CANONICAL_TO_WORLD = np.array([
    [CANONICAL_SCALE_MM, 0, 0, CANONICAL_CENTER_MM[0]],
    [0, CANONICAL_SCALE_MM, 0, CANONICAL_CENTER_MM[1]],
    [0, 0, CANONICAL_SCALE_MM, CANONICAL_CENTER_MM[2]],
    [0, 0, 0, 1.0],
])


def reference_unit(name: str) -> np.ndarray:
    """A reference landmark (3,) in the canonical unit-sphere frame."""
    return (REFERENCE_LANDMARKS[name] - CANONICAL_CENTER_MM) / CANONICAL_SCALE_MM


def reference_array(names=LANDMARK_NAMES) -> np.ndarray:
    """(len(names), 3) reference positions in mm."""
    return np.stack([REFERENCE_LANDMARKS[n] for n in names])


def triangulate(cameras: Cameras, points2d: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Linear (DLT) triangulation of m points seen in n views.

    points2d: (n, m, 2) pixel coordinates (pixel centres at +0.5, like ``Cameras.project``);
    valid: (n, m) bool, which views see each point (default all). For each point, with rows of
    ``P_i`` as ``p1, p2, p3``: stack ``u p3 - p1`` and ``v p3 - p2`` over its views, X = the
    right singular vector of the smallest singular value. Needs >= 2 views per point.
    Returns (m, 3) world points.
    """
    P = cameras.projection()  # (n, 3, 4)
    x = np.asarray(points2d, dtype=np.float64)
    n, m = x.shape[:2]
    if x.shape != (n, m, 2) or n != len(cameras):
        raise ValueError(f"triangulate: points2d must be ({len(cameras)}, m, 2), got {x.shape}")
    valid = np.ones((n, m), bool) if valid is None else np.asarray(valid, bool)
    out = np.empty((m, 3))
    for j in range(m):
        views = np.flatnonzero(valid[:, j])
        if len(views) < 2:
            raise ValueError(f"triangulate: point {j} is seen in {len(views)} view(s), needs 2")
        A = np.concatenate([x[views, j, :1] * P[views, 2] - P[views, 0], x[views, j, 1:] * P[views, 2] - P[views, 1]])
        # normalise rows for conditioning
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        X = np.linalg.svd(A)[2][-1]
        out[j] = X[:3] / X[3]
    return out


def canonical_similarity(landmarks_world: dict[str, np.ndarray]) -> Similarity:
    """Similarity world -> canonical mm from the landmarks present (at least 3 of the six)."""
    names = [n for n in LANDMARK_NAMES if n in landmarks_world and landmarks_world[n] is not None]
    if len(names) < 3:
        raise ValueError(f"canonical frame needs at least 3 of {LANDMARK_NAMES}, got {names}")
    src = np.stack([np.asarray(landmarks_world[n], dtype=np.float64) for n in names])
    return umeyama(src, reference_array(names), with_scale=True)


def canonical_to_world(landmarks_world: dict[str, np.ndarray]) -> np.ndarray:
    """The scene's ``to_world`` (4, 4): unit sphere -> canonical mm -> world."""
    return np.linalg.inv(canonical_similarity(landmarks_world).matrix) @ CANONICAL_TO_WORLD


def canonicalize(scene: Scene, landmarks_world: dict[str, np.ndarray] | None = None) -> Scene:
    """The same scene with its unit-sphere frame replaced by the canonical one.

    ``landmarks_world``: name -> (3,) in the scene's world frame (default ``scene.landmarks``).
    The world frame, images and landmarks are unchanged; cameras and ``to_world`` change.
    """
    lm = scene.landmarks if landmarks_world is None else landmarks_world
    if not lm:
        raise ValueError("canonicalize: the scene has no landmarks")
    return replace(in_canonical_frame(scene, canonical_similarity(lm)),
                   landmarks={k: np.asarray(v, dtype=np.float64) for k, v in lm.items()})


def in_canonical_frame(scene: Scene, world_to_canonical: Similarity) -> Scene:
    """The same scene (world frame, images, units unchanged) with the canonical unit-sphere frame of the
    similarity world -> canonical mm: ``to_world = S^-1 @ CANONICAL_TO_WORLD``, the cameras moved into it."""
    to_world = np.linalg.inv(world_to_canonical.matrix) @ CANONICAL_TO_WORLD
    return replace(scene, cameras=scene.world_cameras().transformed(np.linalg.inv(to_world)), to_world=to_world)


def triangulate_landmarks(scene: Scene, points2d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """World positions of named landmarks from their pixel positions in the scene's views.

    points2d: name -> (n_views, 2) pixel coordinates (pixel centres at +0.5), NaN where a view
    does not see the landmark. Landmarks seen in fewer than two views are left out.
    """
    cams = scene.world_cameras()
    out = {}
    for name, uv in points2d.items():
        uv = np.asarray(uv, dtype=np.float64)
        if uv.shape != (len(scene), 2):
            raise ValueError(f"triangulate_landmarks: {name} must be ({len(scene)}, 2), got {uv.shape}")
        valid = np.isfinite(uv).all(1)
        if valid.sum() >= 2:
            out[name] = triangulate(cams, np.nan_to_num(uv)[:, None], valid[:, None])[0]
    return out


def canonicalize_from_2d(scene: Scene, points2d: dict[str, np.ndarray]) -> Scene:
    """Triangulate the six landmarks from 2D detections (``triangulate_landmarks``), then
    ``canonicalize``. Needs at least three landmarks seen in two views each."""
    return canonicalize(scene, triangulate_landmarks(scene, points2d))
