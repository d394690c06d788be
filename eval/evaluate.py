"""Evaluate mesh FILES: the one function behind ``neuhead eval`` and the benchmark runner, so
both give the same numbers for the same files. Raises ``EvalInputError`` naming the bad file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.chamfer import EvalConfig, H3DSEvaluation, SurfaceEvaluation, evaluate_h3ds, evaluate_surface
from eval.meshio import EvalInputError, MeshData, parse_point, read_landmarks, read_mesh, read_region
from eval.plots import head_view_axes


@dataclass(frozen=True)
class FileEvaluation:
    """An evaluation with the ground truth it was computed on and view axes for plots."""

    evaluation: H3DSEvaluation | SurfaceEvaluation
    gt: MeshData
    front: np.ndarray
    up: np.ndarray


def evaluate_files(pred: Path | MeshData, gt: Path, *, nose_tip: str | None = None, landmarks: Path | None = None,
                   pred_landmarks: Path | None = None, region: Path | None = None,
                   face_sphere: Path | None = None, icp_region: Path | None = None,
                   protocol: str = "h3ds", config: EvalConfig = EvalConfig()) -> FileEvaluation:
    """Read the files and evaluate ``pred`` against ``gt``.

    nose_tip: 'x,y,z' text; landmarks: ground-truth H3DS landmarks.txt (its nose_tip is used, and
    its eyes/lips orient the plots); pred_landmarks: landmarks.txt on the prediction (coarse
    alignment, h3ds protocol); region / face_sphere / icp_region: vertex-index files.
    """
    if protocol not in ("h3ds", "surface"):
        raise EvalInputError(f"unknown protocol {protocol!r} (h3ds or surface)")
    p = pred if isinstance(pred, MeshData) else read_mesh(pred)
    g = read_mesh(gt)
    n = len(g.vertices)
    tip = eyes = mouth = None
    gt_lm = None
    if nose_tip is not None:
        tip = parse_point(nose_tip, "nose tip")
    if landmarks is not None:
        gt_lm = read_landmarks(landmarks, n)
        if "nose_tip" not in gt_lm:
            raise EvalInputError(f"{landmarks}: no 'nose_tip' landmark")
        tip = g.vertices[gt_lm["nose_tip"]]
        lm = {k: g.vertices[i] for k, i in gt_lm.items()}
        if {"right_eye", "left_eye", "right_lips", "left_lips"} <= set(lm):
            eyes = 0.5 * (lm["right_eye"] + lm["left_eye"])
            mouth = 0.5 * (lm["right_lips"] + lm["left_lips"])
    pl = gl = None
    if pred_landmarks is not None:
        if gt_lm is None:
            raise EvalInputError(f"{pred_landmarks}: predicted landmarks need the ground truth's landmarks too")
        if protocol != "h3ds":
            raise EvalInputError(f"{pred_landmarks}: predicted landmarks are only used by the h3ds protocol")
        pidx = read_landmarks(pred_landmarks, len(p.vertices))
        names = [k for k in gt_lm if k in pidx]
        if len(names) < 3:
            raise EvalInputError(f"{pred_landmarks}: shares only {names} with {landmarks}; need >= 3")
        pl = p.vertices[[pidx[k] for k in names]]
        gl = g.vertices[[gt_lm[k] for k in names]]
    kwargs = dict(
        nose_tip=tip,
        face_sphere=None if face_sphere is None else read_region(face_sphere, n),
        icp_region=None if icp_region is None else read_region(icp_region, n),
        region=None if region is None else read_region(region, n),
        region_name=Path(region).stem if region is not None else "region",
        config=config,
    )
    if protocol == "h3ds":
        ev = evaluate_h3ds(p, g, pred_landmarks=pl, gt_landmarks=gl, **kwargs)
    else:
        ev = evaluate_surface(p, g, **kwargs)
    front, up = head_view_axes(g.vertices, tip, eyes, mouth)
    return FileEvaluation(ev, g, front, up)


@dataclass(frozen=True)
class H3DSSceneFiles:
    """The ground-truth files of an H3DS scene folder that ``evaluate_files`` takes; optional ones are
    None when absent."""

    gt: Path
    """full_head.obj"""
    landmarks: Path | None
    """landmarks.txt"""
    icp_region: Path | None
    """regions/face.txt"""
    face_sphere: Path | None
    """regions/face_sphere.txt"""


def h3ds_scene_files(scene_dir: Path) -> H3DSSceneFiles:
    """The ground-truth files of an H3DS scene folder (``H3DSSceneFiles``); EvalInputError without a mesh."""
    scene_dir = Path(scene_dir)
    gt = scene_dir / "full_head.obj"
    if not gt.is_file():
        raise EvalInputError(f"{gt}: ground-truth mesh not found")

    def opt(rel):
        p = scene_dir / rel
        return p if p.is_file() else None

    return H3DSSceneFiles(gt, opt("landmarks.txt"), opt("regions/face.txt"), opt("regions/face_sphere.txt"))
