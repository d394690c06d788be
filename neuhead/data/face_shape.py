"""The face's shape from its detected face mesh: a morphable-model fit to the landmarks (no ground truth).

The 468 points of the face mesh that placement detected in each view (``Placement.detections``) are matched
to the ICT-FaceKit head model through the face template (``assets/face_template.npz``: where each point sits
on the training heads, canonical mm): each template point is tied to its closest point on the neutral's
skin (a triangle and barycentric weights, plus the small constant offset between them), so it moves with the
model's identity and expression modes. ``fit_face_shape`` then finds the identity and expression weights
and a small similarity correction that best reproject those points onto the detections in every view with
a face, under a Gaussian prior on the weights (the training heads' own spread): a regularised, robust
(soft-L1) least-squares problem (scipy), ≈ 1 s for one view.

The result is a whole ICT head (bald, neck included) in the scene's canonical unit frame; the fit uses only
its face (``FaceShape.face_faces``) to start the new scene there (``train.fit.init_scene_to_shape``).
Derived from the ICT-FaceKit model (MIT; see assets/ict/LICENSE).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.canonical import CANONICAL_TO_WORLD, canonical_similarity
from neuhead.data.face import FaceDetection, canonical_points


@dataclass(frozen=True)
class FaceShapeConfig:
    """The morphable-model fit: modes, prior and noise."""

    identity_modes: int = 60
    """identity modes fitted (the synthetic heads use 60)"""
    identity_sigma: float = 1.0
    """prior standard deviation of an identity weight (1 = the model's own spread)"""
    expression_sigma: float = 0.15
    """prior standard deviation of an expression weight (ARKit weights, small expressions)"""
    landmark_sigma: float = 0.007
    """detection noise of a face-mesh point, as a fraction of the face size (times 1 + spread/2 mm)"""
    robust_scale: float = 2.0
    """soft-L1 knee of the reprojection residuals, in units of that noise"""
    pose_sigma: tuple[float, float, float] = (0.05, 5.0, 0.03)
    """prior of the similarity correction on top of the placement: rotation (rad), translation (mm), log-scale"""
    face_radius_mm: float = 80.0
    """the face the fit imposes: skin within this distance of the nose tip, facing forward"""
    learned: bool = True
    """one view with its image: the shape from the learned regressor (``data.face_regressor``: 68 refined
    landmarks, then the ICT weights) and only the pose fitted here, to those landmarks; False: the least-squares
    fit of the weights to the face-mesh points"""
    landmark_px: float = 1.0
    """noise of a refined landmark (px at the regressor's face size) for that pose fit"""
    depth_sigma_mm: float = 0.5
    """prior standard deviation of that pose fit's move along the line of sight (the placement's depth is kept)"""


@dataclass(frozen=True, eq=False)
class FaceShape:
    """A fitted head (ICT topology) in the scene's canonical unit frame.

    vertices: (n, 3); faces: (f, 3); face_faces: indices into ``faces`` of the face region the fit trusts;
    identity / expression: the fitted weights; rms_px: RMS reprojection error of the face-mesh points (px);
    points: how many (point, view) observations were used."""

    vertices: np.ndarray
    faces: np.ndarray
    face_faces: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    rms_px: float
    points: int

    def sample_face(self, n: int, generator):
        """``n`` points uniform by area on the face region and their unit normals, torch (n, 3) float32 each
        (``generator``: a CPU ``torch.Generator``)."""
        import torch

        V = torch.as_tensor(self.vertices, dtype=torch.float32)
        tri = V[torch.as_tensor(self.faces[self.face_faces])]  # (f, 3, 3)
        nrm = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = nrm.norm(dim=1)
        f = torch.multinomial(area, n, replacement=True, generator=generator)
        r = torch.rand(n, 2, generator=generator)
        r = torch.where(r.sum(1, keepdim=True) > 1, 1 - r, r)
        t = tri[f]
        p = t[:, 0] + r[:, :1] * (t[:, 1] - t[:, 0]) + r[:, 1:] * (t[:, 2] - t[:, 0])
        return p, nrm[f] / area[f].clamp_min(1e-12)[:, None]


@dataclass(frozen=True, eq=False)
class _Basis:
    """The template points as linear functions of the model weights, canonical mm."""

    model: object
    neutral: np.ndarray  # (n, 3) canonical mm
    identity: np.ndarray  # (k, n, 3) canonical mm
    expression: np.ndarray  # (e, n, 3)
    base: np.ndarray  # (m, 3) template points on the neutral
    d_identity: np.ndarray  # (k, m, 3)
    d_expression: np.ndarray  # (e, m, 3)
    template: object
    face_faces: np.ndarray


def closest_on_triangles(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray,
                         candidates: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """For each point (m, 3), the triangle of ``faces`` closest to it and the barycentric weights (m, 3) of its
    closest point there: exact among the ``candidates`` triangles with the nearest centroids (scipy KD-tree,
    then trimesh's point-triangle distance). Reference: ``trimesh.proximity.closest_point_naive`` (tests)."""
    import trimesh
    from scipy.spatial import cKDTree

    tris = vertices[faces]
    k = min(candidates, len(faces))
    _, cand = cKDTree(tris.mean(1)).query(points, k=k)
    cand = cand.reshape(len(points), k)
    cp = trimesh.triangles.closest_point(tris[cand.ravel()], np.repeat(points, k, axis=0)).reshape(len(points), k, 3)
    best = np.argmin(np.linalg.norm(cp - points[:, None], axis=2), axis=1)
    tri = cand[np.arange(len(points)), best]
    bary = trimesh.triangles.points_to_barycentric(tris[tri], cp[np.arange(len(points)), best])
    return tri, bary


@functools.lru_cache(maxsize=2)
def _basis(identity_modes: int, face_radius_mm: float) -> _Basis:
    from neuhead.data.placement import load_face_template
    from neuhead.data.synthetic.head import PART_MOUTH, PART_SKIN, load_head_model

    m = load_head_model()
    ids = m.landmark_ids()
    sim = canonical_similarity({k: m.neutral[i] for k, i in ids.items()})
    A = sim.scale * sim.R
    neutral = sim.apply(m.neutral.astype(np.float64))
    ident = np.einsum("ij,knj->kni", A, m.identity[:identity_modes].astype(np.float64))
    expr = np.einsum("ij,knj->kni", A, m.expression.astype(np.float64))
    tpl = load_face_template()
    skin = np.flatnonzero(np.isin(m.labels[m.faces], [PART_SKIN, PART_MOUTH]).all(1))
    t, bary = closest_on_triangles(neutral, m.faces[skin], tpl.points)
    tri = m.faces[skin][t]  # (m, 3) vertex ids

    def at(X):  # (..., n, 3) -> (..., m, 3): the template points carried by vertex positions or deltas
        return np.einsum("mj,...mjd->...md", bary, X[..., tri, :])

    # each point = its barycentric point + a constant offset, so on the neutral it is the template point itself
    base = tpl.points.astype(np.float64)
    nose = neutral[ids["nose_tip"]]
    V, F = neutral, m.faces
    normal = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    centre = V[F].mean(1)
    face = (np.isin(m.labels[F], [PART_SKIN]).all(1) & (np.linalg.norm(centre - nose, axis=1) < face_radius_mm)
            & (normal[:, 2] > 0))
    return _Basis(m, neutral, ident, expr, base, at(ident), at(expr), tpl, np.flatnonzero(face))


def fit_face_shape(cameras: Cameras, detections, config: FaceShapeConfig = FaceShapeConfig(),
                   images=None) -> FaceShape:
    """The ICT head whose face-mesh points best reproject onto ``detections`` (per view a (468, 2) face
    mesh in pixels, or None) through ``cameras`` (the scene's canonical unit-frame cameras). With ``images``
    (per view (h, w, 3), the pixels the detections are in) and one view with a face, the learned regressor
    gives the shape (``FaceShapeConfig.learned``). Raises ``ValueError`` when no view has a detection."""
    views = [v for v, d in enumerate(detections) if d is not None]
    if config.learned and images is not None and len(views) == 1:
        return learned_face_shape(cameras, views[0], images[views[0]], detections[views[0]], config)
    return _least_squares_face_shape(cameras, detections, config)


def _pose_solver(config: FaceShapeConfig, n_params: int):
    """(unpack, prior residuals) of the parameter vector [weights (n_params), rotation vector, translation mm,
    log-scale]: the similarity correction on top of the placement."""
    import cv2

    rs, ts, ss = config.pose_sigma

    def unpack(p):
        return cv2.Rodrigues(p[n_params:n_params + 3])[0], p[n_params + 3:n_params + 6], float(np.exp(p[-1]))

    def prior(p):
        return [p[n_params:n_params + 3] / rs, p[n_params + 3:n_params + 6] / ts, p[-1:] / ss]

    return unpack, prior


def _project(P: np.ndarray, X_mm: np.ndarray) -> np.ndarray:
    """Canonical mm points (m, 3) -> pixels (m, 2) through the canonical unit-frame projection ``P`` (3, 4)."""
    s0, t0 = float(CANONICAL_TO_WORLD[0, 0]), CANONICAL_TO_WORLD[:3, 3]
    uvw = np.c_[(X_mm - t0) / s0, np.ones(len(X_mm))] @ P.T
    return uvw[:, :2] / uvw[:, 2:]


def learned_face_shape(cameras: Cameras, view: int, image: np.ndarray, detection,
                       config: FaceShapeConfig = FaceShapeConfig()) -> FaceShape:
    """The ICT head the learned regressor reads from one image (``data.face_regressor``), posed in the canonical
    frame by fitting the similarity correction (rotation, translation, scale; a Gaussian prior) that reprojects
    its 68 landmark vertices onto the refined landmarks (soft-L1 least squares)."""
    from scipy.optimize import least_squares

    from neuhead.data.face_regressor import load_face_regressor, regress_face

    reg = load_face_regressor()
    est = regress_face(reg, image, np.asarray(detection, np.float64))
    b = _basis(config.identity_modes, config.face_radius_mm)
    k = min(len(b.identity), len(est.identity))
    wi = np.zeros(len(b.identity))
    wi[:k] = est.identity[:k]
    we = np.asarray(est.expression, np.float64)
    V = b.neutral + np.einsum("k,knd->nd", wi, b.identity) + np.einsum("k,knd->nd", we, b.expression)
    lm = V[b.model.landmarks68]
    P = cameras.projection()[view]
    face = float(np.sqrt(((est.landmarks - est.landmarks.mean(0)) ** 2).sum()))
    w = reg.face_scale / face / config.landmark_px  # 1 / (noise in this image's pixels)
    unpack, prior = _pose_solver(config, 0)

    def offsets(p):
        R, t, sc = unpack(p)
        return _project(P, sc * lm @ R.T + t) - est.landmarks

    # one view hardly sees how far the face is: a size error of the regressed head would turn into a depth error
    # of the whole face (1 % ~ 6 mm at 0.6 m). Hold the face at the placement's depth along the line of sight, and
    # let the scale take the size instead: the network's head around the face was placed there too.
    s0, t0 = float(CANONICAL_TO_WORLD[0, 0]), CANONICAL_TO_WORLD[:3, 3]
    sight = cameras.centers[view] * s0 + t0 - lm.mean(0)
    sight /= np.linalg.norm(sight)

    def residuals(p):
        return np.concatenate([(offsets(p) * w).ravel(), *prior(p), [p[3:6] @ sight / config.depth_sigma_mm]])

    fit = least_squares(residuals, np.zeros(7), loss="soft_l1", f_scale=config.robust_scale)
    R, t, sc = unpack(fit.x)
    err = np.linalg.norm(offsets(fit.x), axis=1)
    return FaceShape((sc * V @ R.T + t - t0) / s0, b.model.faces.astype(np.int64), b.face_faces, wi, we,
                     float(np.sqrt(np.mean(err ** 2))), len(err))


def _least_squares_face_shape(cameras: Cameras, detections, config: FaceShapeConfig) -> FaceShape:
    """The weights and the pose fitted to the face-mesh points of every view (``fit_face_shape`` without the
    learned regressor)."""
    from scipy.optimize import least_squares

    from neuhead.data.placement import face_size

    b = _basis(config.identity_modes, config.face_radius_mm)
    s0, t0 = float(CANONICAL_TO_WORLD[0, 0]), CANONICAL_TO_WORLD[:3, 3]
    tpl = b.template
    obs = []
    P = cameras.projection()
    for v, det in enumerate(detections):
        if det is None:
            continue
        det = np.asarray(det, np.float64)
        face = face_size(canonical_points(FaceDetection(det)))
        cam_mm = cameras.centers[v] * s0 + t0
        to_cam = cam_mm - tpl.points
        facing = np.einsum("kj,kj->k", tpl.normals, to_cam) > 0.2 * np.linalg.norm(to_cam, axis=1)
        w = 1.0 / (config.landmark_sigma * face * (1.0 + tpl.spread / 2.0))
        obs.append((P[v], det[tpl.index][facing], w[facing][:, None], facing))
    if not obs:
        raise ValueError("fit_face_shape: no view has a detected face")
    k, e = len(b.identity), len(b.expression)
    pose, pose_prior = _pose_solver(config, k + e)

    def unpack(p):
        return (p[:k], p[k:k + e], *pose(p))

    def points_mm(p):
        wi, we, R, t, sc = unpack(p)
        X = b.base + np.einsum("k,kmd->md", wi, b.d_identity) + np.einsum("k,kmd->md", we, b.d_expression)
        return sc * X @ R.T + t

    def offsets(p):  # per view: (reprojected template points - detections) in px, of the facing points
        Xu = (points_mm(p) - t0) / s0
        out = []
        for Pv, x, _, facing in obs:
            uvw = np.c_[Xu[facing], np.ones(int(facing.sum()))] @ Pv.T
            out.append(uvw[:, :2] / uvw[:, 2:] - x)
        return out

    def residuals(p):
        out = [(d * w).ravel() for d, (_, _, w, _) in zip(offsets(p), obs)]
        wi, we = p[:k], p[k:k + e]
        out += [wi / config.identity_sigma, we / config.expression_sigma, *pose_prior(p)]
        return np.concatenate(out)

    fit = least_squares(residuals, np.zeros(k + e + 7), loss="soft_l1", f_scale=config.robust_scale)
    wi, we, R, t, sc = unpack(fit.x)
    V = b.neutral + np.einsum("k,knd->nd", wi, b.identity) + np.einsum("k,knd->nd", we, b.expression)
    V = sc * V @ R.T + t
    err = np.concatenate([np.linalg.norm(d, axis=1) for d in offsets(fit.x)])
    return FaceShape((V - t0) / s0, b.model.faces.astype(np.int64), b.face_faces, wi, we,
                     float(np.sqrt(np.mean(err ** 2))), len(err))


__all__ = ["FaceShapeConfig", "FaceShape", "fit_face_shape", "learned_face_shape"]
