"""Placing any input in the canonical head frame from its images alone.

The prior only knows heads where it learned them: in the canonical frame (``neuhead.data.canonical``).
``place_scene`` finds that frame for a Scene loaded in its file's own frame (NeuS ``scale_mat``, H3DS
``cameras.npz``, API arrays) from the images and cameras only; no ground-truth mesh or landmark file is
ever read:

1. ``detect_views``: the six landmarks in every view (``neuhead.data.face``, offline).
2. two or more views with a face: ``triangulate_robust``: every pair of views is triangulated and
   scored by the reprojection error in all views (RANSAC over views); the views that agree with the best
   pair are re-triangulated together, and single (landmark, view) observations far off are dropped.
   Landmarks behind a used camera are an error. Then ``canonical_similarity`` (Umeyama with scale),
   refined by ``fit_template``: the similarity that best reprojects a 468-point face template
   (``assets/face_template.npz``, the face mesh's points on training heads) onto the detected face meshes.
3. one view with a face: ``pose_from_one_view``: PnP of the reference landmarks with that camera's
   intrinsics (``neuhead.data.pose.solve_pose``), composed with its extrinsics. One view cannot tell a
   bigger head farther away from a smaller one closer (the images are the same), so the reference head is
   put at its own size in the world's units: mm/cm/m when known, otherwise the scale that puts the head
   at the distance of the file's ``scale_mat`` centre. The canonical-frame cameras the fit sees do not
   depend on that choice; only where the mesh lands in the world does.
4. ``with_canonical_frame``: ``to_world = S^-1 @ CANONICAL_TO_WORLD``: the canonical unit sphere in the
   input's own world frame and units; the cameras move into it. Meshes, cameras and SDF exports stay in
   the input's frame.

``Placement`` (in ``Scene.placement``, and ``report.json``) records the similarity, the per-landmark
reprojection error (px) in every view, and which views were used.
"""

from __future__ import annotations

import functools
import itertools
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eval.align import Similarity, umeyama
from meshing.frames import UNITS_PER_MM
from neuhead.cameras import Cameras
from neuhead.data.canonical import (CANONICAL_CENTER_MM, LANDMARK_NAMES, in_canonical_frame, reference_array,
                                    triangulate)
from neuhead.data.face import FaceDetection, canonical_points
from neuhead.data.scene import Scene
from neuhead.errors import InputError

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class PlacementConfig:
    """Thresholds of the placement step."""

    inlier_frac: float = 0.06
    """a view agrees with a triangulation when its RMS landmark reprojection error is below this fraction
    of its face size (outer eye corner to mouth, px), or ``inlier_min_px``"""
    inlier_min_px: float = 3.0
    """the smallest inlier threshold (px), for small faces"""
    observation_frac: float = 0.12
    """one landmark in one view is dropped (if two other views still see it) above this fraction of the face size"""
    template_f_scale: float = 0.02
    """soft-L1 knee of the template fit, as a fraction of the face size"""
    refine: bool = True
    """refine a multi-view six-landmark estimate with the 468-point face template (``fit_template``)"""
    one_view_rotation: str = "pnp"
    """one view: the frame's rotation from the six-landmark PnP (``"pnp"``) or from the detected face mesh's own 3D
    shape (``"mesh"``, ``face_mesh_rotation``; the PnP's where the detection has no depth)"""

    def __post_init__(self) -> None:
        if self.one_view_rotation not in ("pnp", "mesh"):
            raise ValueError(f"PlacementConfig.one_view_rotation must be pnp or mesh, got {self.one_view_rotation!r}")


@dataclass(frozen=True)
class Placement:
    """How a scene was put in the canonical head frame.

    method: "triangulation" (>= 2 views), "pnp" (one view, known camera), "photo" (one photo, assumed
    camera) or "file" (the file's own frame, no placement); similarity: world -> canonical mm (None for
    "file"); views_used / views_without_face / views_dropped: indices into the scene's views;
    reprojection_px: landmark -> error (px) per view (None where the view was not used);
    warnings: what the user should be told; fov_y_deg / fov_source: for a photo, the vertical field of view its
    camera was given and where it came from ("given", "exif" or "assumed"); detections: per view the detected (468, 2) face mesh (pixels)
    or None, as placement saw it (``neuhead.data.face_shape`` fits the face's shape to it; not in the summary).
    """

    method: str
    similarity: Similarity | None
    views_used: tuple[int, ...] = ()
    views_without_face: tuple[int, ...] = ()
    views_dropped: tuple[int, ...] = ()
    reprojection_px: dict[str, list[float | None]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    fov_y_deg: float | None = None
    fov_source: str = ""
    detections: tuple[np.ndarray | None, ...] = field(default=(), compare=False, repr=False)

    def summary(self) -> dict:
        """The JSON-able record written to ``report.json``."""
        s = self.similarity
        out = {"method": self.method, "views_used": list(self.views_used),
               "views_without_face": list(self.views_without_face), "views_dropped": list(self.views_dropped),
               "reprojection_px": self.reprojection_px, "warnings": list(self.warnings)}
        if self.fov_y_deg is not None:
            out["fov_y_deg"], out["fov_source"] = float(self.fov_y_deg), self.fov_source
        if s is not None:
            out["world_to_canonical_mm"] = {"scale": float(s.scale), "rotation": s.R.tolist(),
                                            "translation": s.t.tolist()}
        return out


def face_size(points: np.ndarray) -> float:
    """Face size (px) of six landmarks (LANDMARK_NAMES order): eye-corner span or eyes-to-mouth, the larger."""
    eyes = np.linalg.norm(points[0] - points[1])
    down = np.linalg.norm(0.5 * (points[0] + points[1]) - 0.5 * (points[4] + points[5]))
    return float(max(eyes, down, 1.0))


def detect_view_faces(images: np.ndarray) -> list[FaceDetection | None]:
    """The largest face in each image (its mesh and depth), or None."""
    from neuhead.data.face import detect_faces

    out: list[FaceDetection | None] = []
    for img in images:
        faces = detect_faces(np.asarray(img))
        out.append(faces[0] if faces else None)
    return out


def detect_views(images: np.ndarray) -> list[np.ndarray | None]:
    """The face mesh (468, 2) (pixel centres at +0.5) of the largest face in each image, or None."""
    return [None if f is None else f.points for f in detect_view_faces(images)]


@dataclass(frozen=True)
class FaceTemplate:
    """Where the face mesh's points sit on a head (``scripts/make_face_template.py``).

    points: (k, 3) canonical mm of the mesh points ``index`` (k <= 468); spread: (k,) their median
    deviation over the training heads (mm); normals: (k, 3) outward, from the points' neighbours."""

    index: np.ndarray
    points: np.ndarray
    spread: np.ndarray
    normals: np.ndarray


TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "assets" / "face_template.npz"
"""the shipped template (``neuhead/assets`` is the repository's ``assets/``)"""


@functools.lru_cache(maxsize=2)
def load_face_template(path: str | None = None) -> FaceTemplate:
    """The face-mesh template (cached), with outward normals from 8-neighbour PCA."""
    from scipy.spatial import cKDTree

    with np.load(TEMPLATE_PATH if path is None else path, allow_pickle=False) as z:
        pts, spread = z["points_mm"].astype(np.float64), z["spread_mm"].astype(np.float64)
    idx = np.flatnonzero(np.isfinite(spread) & np.isfinite(pts).all(1))
    pts, spread = pts[idx], spread[idx]
    _, nn = cKDTree(pts).query(pts, k=9)
    normals = np.empty_like(pts)
    centre = np.array([0.0, 25.0, 20.0])  # inside the head, behind the face
    for i, nb in enumerate(nn):
        q = pts[nb] - pts[nb].mean(0)
        n = np.linalg.svd(q, full_matrices=False)[2][-1]
        normals[i] = n if n @ (pts[i] - centre) > 0 else -n
    return FaceTemplate(idx, pts, spread, normals)


def fit_template(cams: Cameras, views: list[int], mesh2d: list[np.ndarray | None], init: Similarity,
                 fixed_scale: float | None = None, config: "PlacementConfig | None" = None) -> Similarity:
    """Refine a world -> canonical similarity so the face template reprojects onto the detected face meshes.

    Minimises ``sum_{view, point} rho(|pi_v(S^-1 T_k) - x_vk| / (f_v w_k))`` over rotation, translation and
    (unless ``fixed_scale``) scale, with ``T`` the template, ``f_v`` the view's face size, ``w_k`` =
    1 + spread_k / 2 mm (unreliable points count less) and rho = soft-L1 (Levenberg-Marquardt-like trust
    region, scipy). Only points whose template normal faces the view (under the initial pose) are used.
    """
    import cv2
    from scipy.optimize import least_squares

    config = config or PlacementConfig()
    tpl = load_face_template()
    inv0 = init.inverse()  # canonical -> world
    P = cams.projection()
    obs = []
    for v in views:
        x = mesh2d[v][tpl.index]
        face = face_size(canonical_points(FaceDetection(mesh2d[v])))
        cam_can = init.apply(cams.centers[v][None])[0]
        facing = np.einsum("kj,kj->k", tpl.normals, cam_can - tpl.points) > 0.2 * np.linalg.norm(cam_can - tpl.points, axis=1)
        w = 1.0 / (face * (1.0 + tpl.spread / 2.0))
        obs.append((P[v], x[facing], w[facing], tpl.points[facing]))

    def unpack(p):
        R = cv2.Rodrigues(p[:3])[0]
        s = fixed_scale if fixed_scale is not None else float(np.exp(p[6]))
        return s, R, p[3:6]

    def residuals(p):
        s, R, t = unpack(p)
        out = []
        for Pv, x, w, T in obs:
            Xw = s * T @ R.T + t
            uvw = np.c_[Xw, np.ones(len(Xw))] @ Pv.T
            out.append(((uvw[:, :2] / uvw[:, 2:] - x) * w[:, None]).ravel())
        return np.concatenate(out)

    p0 = np.r_[cv2.Rodrigues(inv0.R)[0][:, 0], inv0.t]
    if fixed_scale is None:
        p0 = np.r_[p0, np.log(inv0.scale)]
    fit = least_squares(residuals, p0, loss="soft_l1", f_scale=config.template_f_scale)
    s, R, t = unpack(fit.x)
    return Similarity(s, R, t, 0.0).inverse()


def reprojection_errors(cams: Cameras, X: np.ndarray, points2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (view, landmark) pixel error (n, m) and depth (n, m) of world points X (m, 3) against (n, m, 2)."""
    uv, depth = cams.project(X)
    return np.linalg.norm(uv - points2d, axis=-1), depth


def triangulate_robust(cams: Cameras, points2d: list[np.ndarray | None], config: PlacementConfig = PlacementConfig(),
                       where: str = "cameras") -> tuple[np.ndarray, np.ndarray, list[int]]:
    """World landmarks (m, 3) from >= 2 views with detections, robust to a bad view.

    RANSAC over views: each pair is triangulated (DLT, ``canonical.triangulate``); a pair whose points lie
    behind one of its cameras is skipped; the others are scored by the number of views whose RMS
    reprojection error is under the inlier threshold, then by the summed error. The best pair's inliers are
    re-triangulated together; observations further than ``observation_frac`` of the face size are then left
    out where two views remain. Returns (X, valid (n, m) observations used, inlier views).
    Raises ``InputError`` when every pair puts the landmarks behind a camera.
    """
    seen = [i for i, p in enumerate(points2d) if p is not None]
    m = len(LANDMARK_NAMES)
    x = np.zeros((len(cams), m, 2))
    for i in seen:
        x[i] = points2d[i]
    thr = {i: max(config.inlier_min_px, config.inlier_frac * face_size(x[i])) for i in seen}
    best = None
    for a, b in itertools.combinations(seen, 2):
        X = triangulate(cams.subset([a, b]), x[[a, b]])
        err, depth = reprojection_errors(cams, X, x)
        if (depth[[a, b]] <= 0).any():
            continue
        rms = {i: float(np.sqrt(np.mean(err[i] ** 2))) for i in seen}
        inl = [i for i in seen if rms[i] < thr[i] and (depth[i] > 0).all()]
        key = (len(inl), -sum(min(rms[i], 10 * thr[i]) for i in seen))
        if best is None or key > best[0]:
            best = (key, inl if len(inl) >= 2 else [a, b])
    if best is None:
        raise InputError(f"{where}: the cameras put the triangulated landmarks behind a camera "
                         f"(views {seen}); check the camera convention, or pass --frame file")
    inliers = best[1]
    valid = np.zeros((len(cams), m), bool)
    valid[inliers] = True
    X = triangulate(cams, x, valid)
    err, _ = reprojection_errors(cams, X, x)
    for j in range(m):
        far = [i for i in inliers if err[i, j] > config.observation_frac * face_size(x[i])]
        if far and valid[:, j].sum() - len(far) >= 2:
            valid[far, j] = False
    X = triangulate(cams, x, valid)
    _, depth = reprojection_errors(cams, X, x)
    behind = sorted({int(i) for i in inliers if (depth[i] <= 0).any()})
    if behind:
        raise InputError(f"{where}: the triangulated landmarks lie behind camera(s) {behind}; "
                         "check the camera convention, or pass --frame file")
    return X, valid, inliers


def canonical_similarity_from_points(X: np.ndarray) -> Similarity:
    """World -> canonical mm similarity (Umeyama with scale) of the six landmarks X (6, 3)."""
    return umeyama(X, reference_array(), with_scale=True)


def world_units_per_mm(scene: Scene, c2w_canonical: np.ndarray, cam_world: np.ndarray) -> tuple[float, str]:
    """The scale of a one-view placement: from the declared units, else from the file's sphere.

    Unknown units: the head centre is assumed at the depth of the unit sphere's centre (``scale_mat``), so
    ``units_per_mm = |centre - camera|_world / |head centre - camera|_mm``. Returns (scale, how).
    """
    if scene.units in UNITS_PER_MM:
        return UNITS_PER_MM[scene.units], f"the declared units ({scene.units})"
    d_world = np.linalg.norm(scene.to_world[:3, 3] - cam_world[:3, 3])
    d_mm = np.linalg.norm(CANONICAL_CENTER_MM - c2w_canonical[:3, 3])
    return float(d_world / d_mm), "the distance to the scale_mat centre (units unknown)"


def pose_from_one_view(scene: Scene, view: int, points2d: np.ndarray) -> tuple[Similarity, np.ndarray, str]:
    """World -> canonical similarity from one view with a known camera.

    PnP (``photo.solve_pose``) of the reference landmarks with the view's intrinsics gives ``c2w_can``
    (camera -> canonical mm); with the world camera ``c2w_w`` and ``u`` world units per mm,
    ``p_can = c2w_can @ diag(1/u) @ inv(c2w_w) @ p_world``. Returns (similarity, per-landmark error px, note).
    """
    from neuhead.data.pose import solve_pose

    cams = scene.world_cameras()
    K = cams.K[view]
    try:
        c2w_can, _ = solve_pose(points2d, K)
    except ValueError as e:
        raise InputError(f"view {scene.names[view]}: cannot place the head ({e})") from None
    c2w_w = cams.c2w[view]
    u, how = world_units_per_mm(scene, c2w_can, c2w_w)
    w2c_w = np.linalg.inv(c2w_w)
    M = c2w_can @ np.diag([1 / u, 1 / u, 1 / u, 1.0]) @ w2c_w  # world -> canonical mm, scale 1/u
    sim = Similarity(1 / u, M[:3, :3] * u, M[:3, 3].copy(), 0.0)
    X = sim.inverse().apply(reference_array())  # the reference head placed in the world
    err, _ = reprojection_errors(cams.subset([view]), X, points2d[None])
    return sim, err[0], how


def face_mesh_rotation(cams: Cameras, view: int, face: FaceDetection, sim: Similarity) -> Similarity:
    """``sim`` (world -> canonical) with its rotation taken from the face mesh's own 3D shape in ``view``.

    Umeyama of the face template (canonical mm) onto the detection's (x, y, depth) points gives the rotation
    canonical -> the view as the face mesh sees it, along the ray through the face; turning that ray onto the
    optical axis gives canonical -> camera. Scale is kept and the six reference landmarks' centroid keeps its
    world position. ``face.depth`` must be known.
    """
    import cv2

    from eval.align import umeyama

    tpl = load_face_template()
    xyz = np.c_[face.points, face.depth][tpl.index]
    R_ray = umeyama(tpl.points, xyz).R  # canonical -> the camera turned to look along the ray through the face
    d = np.linalg.inv(cams.K[view]) @ np.r_[xyz[:, :2].mean(0), 1.0]
    d /= np.linalg.norm(d)
    axis = np.cross([0.0, 0.0, 1.0], d)
    turn = cv2.Rodrigues(axis / max(np.linalg.norm(axis), 1e-12) * np.arccos(np.clip(d[2], -1, 1)))[0]
    R = (turn @ R_ray).T @ cams.c2w[view][:3, :3].T  # world -> canonical
    c_can = reference_array().mean(0)
    c_world = sim.inverse().apply(c_can[None])[0]
    return Similarity(sim.scale, R, c_can - sim.scale * R @ c_world, 0.0)


def with_canonical_frame(scene: Scene, sim: Similarity, placement: Placement) -> Scene:
    """The same scene (world frame, images, units unchanged) in the canonical unit-sphere frame of ``sim``."""
    return replace(in_canonical_frame(scene, sim), placement=placement)


def errors_table(err: np.ndarray, used: np.ndarray) -> dict[str, list[float | None]]:
    """landmark -> per view error (px, 2 decimals), None where not used. err, used: (n, m)."""
    return {name: [round(float(err[i, j]), 2) if used[i, j] else None for i in range(err.shape[0])]
            for j, name in enumerate(LANDMARK_NAMES)}


def place_scene(scene: Scene, where: str = "input", config: PlacementConfig = PlacementConfig(),
                detections: list[np.ndarray | None] | None = None) -> Scene:
    """The scene in the canonical head frame found from its images and cameras (see the module doc).

    ``where`` names the input in messages; ``detections`` (per view a (468, 2) face mesh or None) skips
    the detector. Raises ``InputError`` when no view shows a face, or the cameras put the landmarks
    behind a camera.
    """
    if detections is None:
        faces = detect_view_faces(scene.images)
    else:
        faces = [None if m is None else FaceDetection(m) for m in detections]
    meshes = [None if f is None else f.points for f in faces]
    if len(meshes) != len(scene):
        raise ValueError(f"place_scene: {len(meshes)} detections for {len(scene)} views")
    pts = [None if f is None else canonical_points(f) for f in faces]
    seen = [i for i, p in enumerate(pts) if p is not None]
    missing = tuple(i for i in range(len(scene)) if pts[i] is None)
    notes = []
    if not seen:
        raise InputError(f"{where}: no face found in any of its {len(scene)} view(s) "
                         f"({', '.join(scene.names[:6])}); pass --frame file to fit in the file's own frame")
    if missing:
        notes.append(f"{where}: no face found in view(s) {', '.join(scene.names[i] for i in missing)}; "
                     "placed from the others")
    m = len(LANDMARK_NAMES)
    cams = scene.world_cameras()
    x = np.zeros((len(scene), m, 2))
    for i in seen:
        x[i] = pts[i]
    dropped: tuple[int, ...] = ()
    if len(seen) >= 2:
        X, _, used = triangulate_robust(cams, pts, config, where)
        dropped = tuple(i for i in seen if i not in used)
        if dropped:
            notes.append(f"{where}: view(s) {', '.join(scene.names[i] for i in dropped)} disagree with the "
                         "others' landmarks (reprojection error too large) and were not used to place the head")
        sim, fixed, method = canonical_similarity_from_points(X), None, "triangulation"
    else:
        used = [seen[0]]
        sim, _, how = pose_from_one_view(scene, seen[0], pts[seen[0]])
        fixed, method = 1.0 / sim.scale, "pnp"
        log.debug("%s: one view, scale from %s", where, how)
        if config.one_view_rotation == "mesh" and faces[seen[0]].depth is not None:
            sim = face_mesh_rotation(cams, seen[0], faces[seen[0]], sim)
    if config.refine and len(used) >= 2:
        # one view: the template fit moved the pose less reliably than the weighted six-landmark PnP
        # (5 fresh heads, portrait 512²: worse on 2, better on 2), so it refines multi-view placements only
        sim = fit_template(cams, list(used), meshes, sim, fixed_scale=fixed, config=config)
    X_ref = sim.inverse().apply(reference_array())  # the reference landmarks, placed in the world
    err, depth = reprojection_errors(cams, X_ref, x)
    behind = sorted(int(i) for i in used if (depth[i] <= 0).any())
    if behind:
        raise InputError(f"{where}: the placed head lies behind camera(s) {behind}; check the camera convention, "
                         "or pass --frame file")
    mask = np.zeros((len(scene), m), bool)
    mask[list(used)] = True
    log.info("%s: head placed by %s in view(s) %s (median landmark reprojection %.2f px), %.4g world units per mm",
             where, "triangulation + template fit" if method == "triangulation" else "PnP",
             ", ".join(scene.names[i] for i in used), float(np.median(err[mask])), 1.0 / sim.scale)
    for n in notes:
        log.warning(n)
    placement = Placement(method, sim, tuple(used), missing, dropped, errors_table(err, mask), tuple(notes),
                          detections=tuple(meshes))
    return with_canonical_frame(scene, sim, placement)


def file_placement(scene: Scene) -> Scene:
    """The scene as loaded, in its file's own unit-sphere frame (``--frame file``), with that recorded."""
    return replace(scene, placement=Placement("file", None))


__all__ = ["PlacementConfig", "Placement", "FaceTemplate", "load_face_template", "fit_template", "face_mesh_rotation",
           "detect_view_faces", "detect_views", "triangulate_robust", "pose_from_one_view",
           "place_scene", "file_placement", "with_canonical_frame", "world_units_per_mm"]
