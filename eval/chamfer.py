"""Geometric distances: the H3DS metric (the surface-sampled Chamfer with F-score is in ``eval.surface``).

All distances are in the input units (millimetres for H3DS). No imports from neuhead.

H3DS protocol (the toolbox's ``H3DS.evaluate_scene``, reproduced exactly):

1. optional coarse alignment: ``procrustes(pred_landmarks, gt_landmarks, reflection=False)``;
2. fine alignment: ``trimesh.registration.icp(gt[icp_region], pred_vertices)`` with its defaults
   (similarity, reflection allowed), the prediction moved by the inverse;
   ``icp_region`` = the face region for the full-head score, the scored region otherwise;
3. score = mean over the scored ground-truth vertices of the distance to the nearest predicted
   **vertex**: ``d_i = min_j |g_i - p_j|`` (ground truth -> prediction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from eval.align import H3DSAlignment, Similarity, apply_matrix, h3ds_icp, h3ds_landmark_alignment
from eval.meshio import EvalInputError, MeshData, check_mesh, check_region

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Constants of an evaluation (units are the meshes' own, mm for H3DS)."""

    face_radius: float = 95.0
    """radius of ``face_sphere``: ground-truth vertices this close to the nose tip"""
    warn_scale: float = 1.15
    """log a warning when an ICP scale lies outside [1/warn_scale, warn_scale]"""
    max_scale: float = 2.0
    """raise (units mismatch) when an ICP scale lies outside [1/max_scale, max_scale] (inf: never)"""
    max_extent_ratio: float = 5.0
    """raise (units mismatch) when the bounding-box diagonals differ by more than this factor"""
    n_samples: int = 100_000
    """surface protocol: points sampled on each surface"""
    seed: int = 0
    """surface protocol: seed of the surface sampling"""
    fscore_threshold: float = 1.0
    """surface protocol: distance (input units) under which a point counts as matched"""
    surface_icp_scale: bool = True
    """surface protocol: let our ICP (never reflecting) fit a scale as the H3DS protocol does"""


# ----------------------------------------------------------------------------- basic distances


def nearest_distances(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``d_i = min_j |src_i - dst_j|`` for src (n, 3), dst (m, 3) -> (n,) (scipy cKDTree)."""
    from scipy.spatial import cKDTree

    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if len(dst) == 0:
        raise EvalInputError("nearest_distances: the target point set is empty")
    d, _ = cKDTree(dst).query(src, k=1)
    return d


def nearest_distances_bruteforce(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Slow, obviously-correct reference for ``nearest_distances`` (O(n m) memory in chunks)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    out = np.empty(len(src))
    for s in range(0, len(src), 256):
        diff = src[s:s + 256, None, :] - dst[None, :, :]  # (b, m, 3)
        out[s:s + 256] = np.sqrt((diff**2).sum(-1)).min(1)
    return out


def region_within(vertices: np.ndarray, center, radius: float) -> np.ndarray:
    """Indices of the vertices within ``radius`` of ``center`` (e.g. face_sphere: 95 mm of the nose tip)."""
    v = np.asarray(vertices, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64).reshape(3)
    idx = np.flatnonzero(np.linalg.norm(v - c, axis=1) <= radius)
    if idx.size == 0:
        raise EvalInputError(f"no vertex lies within {radius} of {c.tolist()}: is the nose tip in the mesh's units?")
    return idx


def check_same_units(pred: MeshData, gt: MeshData, config: EvalConfig = EvalConfig()) -> float:
    """Ratio of bounding-box diagonals pred/gt; EvalInputError if it says the units differ."""
    def diag(v):
        return float(np.linalg.norm(v.max(0) - v.min(0)))

    dp, dg = diag(pred.vertices), diag(gt.vertices)
    if dg == 0 or dp == 0:
        raise EvalInputError(f"{pred.name if dp == 0 else gt.name}: all vertices coincide (zero extent)")
    ratio = dp / dg
    if not 1 / config.max_extent_ratio <= ratio <= config.max_extent_ratio:
        raise EvalInputError(
            f"{pred.name}: extent {dp:.4g} vs ground truth {gt.name} extent {dg:.4g} (ratio {ratio:.3g}); "
            "the meshes look like they are in different units (mm vs m, or the unit-sphere frame)")
    return ratio


def _scale_warnings(scale: float, what: str, config: EvalConfig) -> list[str]:
    if not 1 / config.max_scale <= scale <= config.max_scale:
        raise EvalInputError(
            f"{what}: ICP needed a scale of {scale:.4g} to align the ground truth onto the prediction; "
            "the meshes are in different units or do not show the same head")
    if not 1 / config.warn_scale <= scale <= config.warn_scale:
        msg = f"{what}: ICP scale {scale:.4g} is far from 1 (units, cropping or a poor reconstruction?)"
        log.warning(msg)
        return [msg]
    return []


# ----------------------------------------------------------------------------- H3DS protocol


@dataclass(frozen=True)
class RegionScore:
    """The H3DS score of one region.

    mean/median/p90: statistics of ``distances`` (input units, mm for H3DS);
    distances: (k,) ground-truth vertex -> nearest predicted vertex, for ``indices`` (k,);
    alignment: the ICP that produced it; warnings: anything suspicious found on the way;
    accuracy: the other direction, prediction -> truth (see :func:`h3ds_accuracy`), which sees inner
    walls and floaters that the ground truth -> prediction score cannot; None if no predicted vertex is in the region.
    """

    name: str
    mean: float
    median: float
    p90: float
    indices: np.ndarray
    distances: np.ndarray
    alignment: H3DSAlignment | Similarity
    warnings: tuple[str, ...] = ()
    accuracy: float | None = None

    def describe(self) -> str:
        """One human-readable line."""
        return (f"{self.name:>12}: mean {self.mean:.4f}  median {self.median:.4f}  p90 {self.p90:.4f}  "
                f"({len(self.indices)} GT vertices, ICP scale {self.alignment.scale:.4f})")

    def summary(self) -> dict:
        a = self.alignment
        return {
            "region": self.name, "mean": self.mean, "median": self.median, "p90": self.p90,
            "accuracy_pred_to_gt": self.accuracy,
            "n_vertices": int(len(self.indices)), "icp_scale": float(a.scale),
            "icp_reflected": bool(getattr(a, "reflected", False)), "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class H3DSEvaluation:
    """H3DS scores: full head, face_sphere (when a nose tip is known), a custom region (if given)."""

    head: RegionScore
    face_sphere: RegionScore | None = None
    region: RegionScore | None = None
    coarse: H3DSAlignment | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def scores(self) -> list[RegionScore]:
        return [s for s in (self.head, self.face_sphere, self.region) if s is not None]

    def summary(self) -> dict:
        return {"protocol": "h3ds", "unit_note": "distances in the input units (mm for H3DS)",
                **{s.name: s.summary() for s in self.scores()},
                "coarse_alignment": None if self.coarse is None else self.coarse.matrix.tolist(),
                "warnings": list(self.warnings)}


def _face_sphere(gt_vertices, nose_tip, face_sphere, config: EvalConfig) -> np.ndarray | None:
    if face_sphere is not None:
        return check_region(face_sphere, len(gt_vertices), "face_sphere region")
    if nose_tip is not None:
        return region_within(gt_vertices, nose_tip, config.face_radius)
    return None


def h3ds_accuracy(pred_aligned: np.ndarray, region_vertices: np.ndarray, gt_vertices: np.ndarray) -> float | None:
    """Prediction -> truth: mean over the predicted vertices inside the axis-aligned box of
    ``region_vertices`` (the scored ground-truth vertices; the box keeps out what the ground truth does
    not cover, e.g. the neck below its cut) of the distance to the nearest ground-truth vertex.
    None when no predicted vertex lies in the box."""
    lo, hi = region_vertices.min(0), region_vertices.max(0)
    inside = np.all((pred_aligned >= lo) & (pred_aligned <= hi), axis=1)
    if not inside.any():
        return None
    return float(nearest_distances(pred_aligned[inside], gt_vertices).mean())


def h3ds_region_score(pred_vertices: np.ndarray, gt_vertices: np.ndarray, score_idx: np.ndarray,
                      icp_idx: np.ndarray, name: str, config: EvalConfig = EvalConfig()) -> RegionScore:
    """One toolbox evaluation: ICP ``gt[icp_idx]`` onto ``pred``, move ``pred`` by the inverse,
    then mean over ``gt[score_idx]`` of the distance to the nearest predicted vertex; ``accuracy`` is the
    other direction (:func:`h3ds_accuracy`)."""
    al = h3ds_icp(gt_vertices[icp_idx], pred_vertices)
    warnings = _scale_warnings(al.scale, name, config)
    if al.reflected:
        msg = f"{name}: the H3DS ICP (trimesh defaults) chose a REFLECTION; the score is the toolbox's but suspect"
        log.warning(msg)
        warnings.append(msg)
    pred_aligned = al.apply_inverse(pred_vertices)
    d = nearest_distances(gt_vertices[score_idx], pred_aligned)
    acc = h3ds_accuracy(pred_aligned, gt_vertices[score_idx], gt_vertices)
    return RegionScore(name, float(d.mean()), float(np.median(d)), float(np.percentile(d, 90)),
                       np.asarray(score_idx), d, al, tuple(warnings), acc)


def evaluate_h3ds(pred: MeshData, gt: MeshData, *, nose_tip=None, face_sphere=None, icp_region=None,
                  region=None, region_name: str = "region", pred_landmarks=None, gt_landmarks=None,
                  config: EvalConfig = EvalConfig()) -> H3DSEvaluation:
    """The H3DS toolbox protocol on plain arrays.

    pred, gt: meshes (only vertices are used). nose_tip: (3,) ground-truth nose tip, enables
    ``face_sphere``; face_sphere: its vertex indices instead (H3DS ``regions/face_sphere.txt``);
    icp_region: ground-truth vertex indices for the full-head ICP (H3DS:
    ``regions/face.txt``; default: face_sphere if a nose tip is given, else every vertex);
    region: extra vertex indices to score (ICP on that region, as the toolbox does);
    pred_landmarks/gt_landmarks: (k, 3) corresponding points for the coarse alignment.
    """
    pred = check_mesh(pred.vertices, pred.faces, pred.name)
    gt = check_mesh(gt.vertices, gt.faces, gt.name)
    n = len(gt.vertices)
    pv = pred.vertices
    coarse = None
    warnings: list[str] = []
    if (pred_landmarks is None) != (gt_landmarks is None):
        raise EvalInputError("coarse alignment needs both predicted and ground-truth landmarks")
    if pred_landmarks is not None:
        coarse = h3ds_landmark_alignment(pred_landmarks, gt_landmarks)
        pv = apply_matrix(coarse.matrix, pv)
        pred = MeshData(pv, pred.faces, pred.name)
    check_same_units(pred, gt, config)

    face_idx = _face_sphere(gt.vertices, nose_tip, face_sphere, config)
    if icp_region is not None:
        head_icp = check_region(icp_region, n, "ICP region")
    else:
        head_icp = face_idx if face_idx is not None else np.arange(n)
    head = h3ds_region_score(pv, gt.vertices, np.arange(n), head_icp, "head", config)
    face = None if face_idx is None else h3ds_region_score(pv, gt.vertices, face_idx, face_idx, "face_sphere", config)
    reg = None
    if region is not None:
        ridx = check_region(region, n, region_name)
        reg = h3ds_region_score(pv, gt.vertices, ridx, ridx, region_name, config)
    for s in (head, face, reg):
        if s is not None:
            warnings.extend(s.warnings)
    return H3DSEvaluation(head, face, reg, coarse, tuple(warnings))


# ----------------------------------------------------------------------------- surface protocol


# the surface protocol lives in eval.surface; its names stay importable from here
from eval.surface import (ChamferResult, SurfaceEvaluation, SurfaceScore, chamfer_points,  # noqa: E402,F401
                          evaluate_surface, fscore, mesh_area, sample_surface, surface_chamfer, surface_region_score)
