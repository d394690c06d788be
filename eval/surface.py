"""The surface protocol: a surface-sampled symmetric Chamfer with F-score after a reflection-free ICP.

All distances are in the input units. No imports from neuhead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.align import Similarity, icp
from eval.chamfer import (EvalConfig, _face_sphere, _scale_warnings, check_same_units, nearest_distances)
from eval.meshio import EvalInputError, MeshData, check_mesh, check_region


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted uniform samples on a triangle mesh -> (points (n, 3), face index (n,)).

    A point is ``a + u (b - a) + v (c - a)`` with (u, v) folded into the triangle.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        raise EvalInputError("sample_surface: the mesh has no faces")
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    total = area.sum()
    if not total > 0:
        raise EvalInputError("sample_surface: the mesh has zero surface area")
    rng = np.random.default_rng(seed)
    fi = rng.choice(len(f), size=n, p=area / total)
    uv = rng.random((n, 2))
    flip = uv.sum(1) > 1
    uv[flip] = 1 - uv[flip]
    p = a[fi] + uv[:, :1] * (b[fi] - a[fi]) + uv[:, 1:] * (c[fi] - a[fi])
    return p, fi


def mesh_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Total triangle area (input units squared)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    return float(0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum())


@dataclass(frozen=True)
class ChamferResult:
    """Symmetric Chamfer between sampled surfaces (input units).

    accuracy: mean pred -> gt distance; completeness: mean gt -> pred distance;
    chamfer: (accuracy + completeness) / 2; precision / recall: fraction of pred / gt points
    within ``threshold``; fscore: their harmonic mean.
    """

    accuracy: float
    completeness: float
    chamfer: float
    precision: float
    recall: float
    fscore: float
    threshold: float
    n_pred: int
    n_gt: int


def fscore(d_pred_to_gt: np.ndarray, d_gt_to_pred: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """(precision, recall, F) at ``threshold``: P = mean(d_pg < τ), R = mean(d_gp < τ), F = 2PR/(P+R)."""
    p = float((np.asarray(d_pred_to_gt) < threshold).mean())
    r = float((np.asarray(d_gt_to_pred) < threshold).mean())
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def chamfer_points(pred_points: np.ndarray, gt_points: np.ndarray, threshold: float = 1.0) -> ChamferResult:
    """Symmetric Chamfer and F-score between two point sets (n, 3), (m, 3)."""
    if len(pred_points) == 0 or len(gt_points) == 0:
        raise EvalInputError("chamfer: one of the point sets is empty (nothing of the prediction near the region?)")
    d_pg = nearest_distances(pred_points, gt_points)
    d_gp = nearest_distances(gt_points, pred_points)
    p, r, f = fscore(d_pg, d_gp, threshold)
    acc, comp = float(d_pg.mean()), float(d_gp.mean())
    return ChamferResult(acc, comp, 0.5 * (acc + comp), p, r, f, float(threshold), len(pred_points), len(gt_points))


def surface_chamfer(pred: MeshData, gt: MeshData, n: int = 100_000, seed: int = 0,
                    threshold: float = 1.0) -> ChamferResult:
    """Sample ``n`` points on each surface (seeded) and compare them with ``chamfer_points``."""
    pp, _ = sample_surface(pred.vertices, pred.faces, n, seed)
    gp, _ = sample_surface(gt.vertices, gt.faces, n, seed)
    return chamfer_points(pp, gp, threshold)


@dataclass(frozen=True)
class SurfaceScore:
    """Surface-protocol score of one region: Chamfer/F-score after our (reflection-free) ICP."""

    name: str
    chamfer: ChamferResult
    alignment: Similarity
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        """One human-readable line."""
        c = self.chamfer
        return (f"{self.name:>12}: chamfer {c.chamfer:.4f} (acc {c.accuracy:.4f}, comp {c.completeness:.4f})  "
                f"F@{c.threshold:g} {c.fscore:.4f}  ICP scale {self.alignment.scale:.4f}")

    def summary(self) -> dict:
        c = self.chamfer
        return {"region": self.name, "chamfer": c.chamfer, "accuracy": c.accuracy, "completeness": c.completeness,
                "precision": c.precision, "recall": c.recall, "fscore": c.fscore, "threshold": c.threshold,
                "icp_scale": self.alignment.scale, "icp_residual": self.alignment.residual,
                "icp_iterations": self.alignment.iterations, "warnings": list(self.warnings)}


@dataclass(frozen=True)
class SurfaceEvaluation:
    """Surface-protocol scores: full head, face_sphere (with a nose tip), a custom region (if given)."""

    head: SurfaceScore
    face_sphere: SurfaceScore | None = None
    region: SurfaceScore | None = None
    warnings: tuple[str, ...] = ()

    def scores(self) -> list[SurfaceScore]:
        return [s for s in (self.head, self.face_sphere, self.region) if s is not None]

    def summary(self) -> dict:
        return {"protocol": "surface", "unit_note": "distances in the input units (mm for H3DS)",
                **{s.name: s.summary() for s in self.scores()}, "warnings": list(self.warnings)}


def _region_faces(faces: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    inside = np.zeros(n, bool)
    inside[idx] = True
    return faces[inside[faces].all(1)]


def surface_region_score(pred: MeshData, gt: MeshData, score_idx: np.ndarray, icp_idx: np.ndarray,
                         name: str, config: EvalConfig = EvalConfig()) -> SurfaceScore:
    """ICP (ours, no reflection) of ``gt[icp_idx]`` onto the predicted vertices; the prediction is
    moved by the inverse; then Chamfer between the region's GT surface (faces whose three vertices
    are in ``score_idx``) and the predicted samples whose nearest GT vertex is in the region.

    Regions are compared through independent point samples, so even identical meshes score the
    sampling noise (≈ 0.6 mm over a head's face_sphere at 20k samples); raise ``n_samples`` to
    lower it. The full head of identical meshes scores exactly 0 (identical samples)."""
    from scipy.spatial import cKDTree

    T = icp(gt.vertices[icp_idx], pred.vertices, with_scale=config.surface_icp_scale)
    warnings = _scale_warnings(T.scale, name, config)
    pv = T.inverse().apply(pred.vertices)
    n = len(gt.vertices)
    gf = _region_faces(gt.faces, score_idx, n)
    if len(gf) == 0:
        raise EvalInputError(f"{name}: no ground-truth face lies entirely inside the region")
    gp, _ = sample_surface(gt.vertices, gf, config.n_samples, config.seed)
    # same sampling density on both sides: the prediction is sampled whole, then cropped
    n_pred = config.n_samples
    if len(score_idx) < n:
        ratio = mesh_area(pv, pred.faces) / max(mesh_area(gt.vertices, gf), 1e-300)
        n_pred = int(min(max(ratio, 1.0), 20.0) * config.n_samples)
    pp, _ = sample_surface(pv, pred.faces, n_pred, config.seed)
    if len(score_idx) < n:
        inside = np.zeros(n, bool)
        inside[score_idx] = True
        _, nearest = cKDTree(gt.vertices).query(pp, k=1)
        pp = pp[inside[nearest]]
    return SurfaceScore(name, chamfer_points(pp, gp, config.fscore_threshold), T, tuple(warnings))


def evaluate_surface(pred: MeshData, gt: MeshData, *, nose_tip=None, face_sphere=None, icp_region=None, region=None,
                     region_name: str = "region", config: EvalConfig = EvalConfig()) -> SurfaceEvaluation:
    """Surface-sampled symmetric Chamfer + F-score with the same region logic as ``evaluate_h3ds``
    but our own ICP (similarity or rigid, never a reflection). Both meshes need faces."""
    pred = check_mesh(pred.vertices, pred.faces, pred.name)
    gt = check_mesh(gt.vertices, gt.faces, gt.name)
    for m in (pred, gt):
        if len(m.faces) == 0:
            raise EvalInputError(f"{m.name}: the surface protocol needs a mesh with faces, not a point cloud")
    check_same_units(pred, gt, config)
    n = len(gt.vertices)
    face_idx = _face_sphere(gt.vertices, nose_tip, face_sphere, config)
    if icp_region is not None:
        head_icp = check_region(icp_region, n, "ICP region")
    else:
        head_icp = face_idx if face_idx is not None else np.arange(n)
    head = surface_region_score(pred, gt, np.arange(n), head_icp, "head", config)
    face = None if face_idx is None else surface_region_score(pred, gt, face_idx, face_idx, "face_sphere", config)
    reg = None
    if region is not None:
        ridx = check_region(region, n, region_name)
        reg = surface_region_score(pred, gt, ridx, ridx, region_name, config)
    warnings = tuple(w for s in (head, face, reg) if s is not None for w in s.warnings)
    return SurfaceEvaluation(head, face, reg, warnings)
