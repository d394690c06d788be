"""H3DS benchmark runner: fit every scene of an H3DS-format root, score it, write Table 1.

Layout of the paper's Table 1: face (face_sphere, 95 mm around the nose tip) and full head,
1 view = frontal, left and right fitted SEPARATELY (F / L / R / mean), 3 views = all three
together. Scores are the H3DS toolbox's (``eval.chamfer.evaluate_h3ds``), computed by the same
function as ``neuhead eval`` on the same files (``eval.evaluate.evaluate_files``).

The fitter and the scene reader are injected (defaults import the real ones lazily):

- ``fit_fn(scene, preset) -> mesh`` (anything with ``vertices`` / ``faces`` in the scan's frame,
  mm); default: ``default_fitter(config)`` (``neuhead.api.fit_scene``);
- ``load_scene_fn(root, scene_id, views) -> Scene``; default: ``neuhead.data.h3ds.load_h3ds_scene``
  without ground truth, then ``neuhead.data.placement.place_scene`` (the frame from the images);
- ``list_scenes_fn(root) -> list[SceneSpec]``; default: ``read_h3ds_config`` (config.toml).

Output folder::

    OUT/scenes/<scene>/<label>/pred.ply     predicted mesh (mm)
    OUT/scenes/<scene>/<label>/score.json   written last: its presence marks the job done (resume)
    OUT/results.md / results.csv / results.json / results.png
"""

from __future__ import annotations

import functools
import json
import logging
import math
import shlex
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from meshing.extract import EVAL_RESOLUTION
from neuhead.bench.table import BenchTable, JobResult, _job_from_record, write_table
from neuhead.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneSpec:
    """One benchmark scene: its id and the image indices of its frontal, left and right views."""

    scene_id: str
    frontal_left_right: tuple[int, int, int]


@dataclass(frozen=True)
class ViewSetup:
    """One fit of a scene: a column label ("F", "L", "R" or "3") and the image indices it uses."""

    label: str
    views: tuple[int, ...]


@dataclass(frozen=True)
class BenchConfig:
    """What the benchmark runs."""

    views: int = 1
    """1: frontal, left and right fitted separately (as in the paper); 3: the three together"""
    preset: str = "quick"
    """fitting preset passed to the fitter"""
    scenes: tuple[str, ...] | None = None
    """scene ids to run (default: every scene of config.toml)"""
    heatmaps: bool = False
    """also write a per-vertex error heatmap PNG next to each prediction"""
    face_radius: float = 95.0
    """face_sphere radius (mm) when a scene has no regions/face_sphere.txt"""
    mesh_resolution: int = EVAL_RESOLUTION
    """marching-cubes resolution of the default fitter's mesh (the H3DS metric favours dense meshes)"""
    iters: int | None = None
    """default fitter: total iteration budget override (None: the preset's), for smoke runs"""
    seed: int = 0
    """default fitter: seed"""
    device: str = "cpu"
    """default fitter: torch device"""
    prior: str | None = "default"
    """default fitter: "default" (the shipped prior), a prior folder, or None (from scratch)"""
    frame: str = "auto"
    """default scene reader: "auto" (canonical frame from the images) or "file" (the scale_mat frame)"""


def read_h3ds_config(root: str | Path) -> list[SceneSpec]:
    """Scenes of an H3DS root and their frontal/left/right views: the views config ``"3"``
    (``[scenes.<id>.default_views_configs] 3 = [frontal, left, right]``) read by
    ``neuhead.data.h3ds.load_h3ds_config``."""
    from neuhead.data.h3ds import load_h3ds_config

    cfg = load_h3ds_config(root)
    out = []
    for sid, info in cfg.scenes.items():
        three = info.views_configs.get("3")
        if not isinstance(three, list) or len(three) != 3:
            raise InputError(f"{cfg.path or cfg.root}: scene {sid} has no 3-view configuration "
                             "([scenes.<id>.default_views_configs] 3 = [frontal, left, right])")
        out.append(SceneSpec(str(sid), tuple(int(i) for i in three)))
    return out


def view_setups(views: int, spec: SceneSpec) -> list[ViewSetup]:
    """1 view: F, L, R separately (as in the paper's Table 1); 3 views: one fit on all three."""
    f, l, r = spec.frontal_left_right
    if views == 1:
        return [ViewSetup("F", (f,)), ViewSetup("L", (l,)), ViewSetup("R", (r,))]
    if views == 3:
        return [ViewSetup("3", (f, l, r))]
    raise InputError(f"--views must be 1 or 3, got {views}")


def default_fitter(config: BenchConfig) -> Callable:
    """The real fitter, imported lazily: ``neuhead.api.fit_scene(scene, preset, prior, iters=,
    seed=, device=)``; the mesh is extracted at ``config.mesh_resolution`` (world frame, mm)."""

    def fit(scene, preset: str):
        from neuhead.api import fit_scene

        recon = fit_scene(scene, preset, config.prior, iters=config.iters, seed=config.seed, device=config.device)
        return recon.extract_mesh(config.mesh_resolution)

    return fit


def _default_load_scene(root, scene_id: str, views, frame: str = "auto"):
    # no ground truth at fit time: the images alone place the head in the canonical frame the prior was
    # trained in (``frame="file"``: the file's scale_mat); to_world still maps meshes back to the scan's mm
    from neuhead.data.load import load_h3ds_placed

    return load_h3ds_placed(root, scene_id, views, frame)


def _write_mesh(mesh, path: Path) -> None:
    import trimesh

    from neuhead.io import atomic_path

    if not isinstance(mesh, trimesh.Trimesh):
        mesh = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), process=False)
    if len(mesh.vertices) == 0:
        raise ValueError("the fitter returned an empty mesh")
    with atomic_path(path) as tmp:
        mesh.export(tmp, file_type="ply")


def _eval_command(pred: Path, files: dict, config: BenchConfig) -> str:
    cmd = ["neuhead", "eval", str(pred), str(files.gt), "--max-scale", "inf"]
    if config.face_radius != 95.0:
        cmd += ["--face-radius", repr(config.face_radius)]
    for path, flag in ((files.landmarks, "--landmarks"), (files.icp_region, "--icp-region"),
                       (files.face_sphere, "--face-sphere")):
        if path is not None:
            cmd += [flag, str(path)]
    return " ".join(shlex.quote(c) for c in cmd)


def score_prediction(pred_path: Path, scene_dir: Path, config: BenchConfig = BenchConfig(),
                     heatmap: Path | None = None):
    """Score a predicted mesh file against an H3DS scene folder exactly as ``neuhead eval`` does
    with ``--max-scale inf --landmarks landmarks.txt --icp-region regions/face.txt --face-sphere
    regions/face_sphere.txt`` (the files that exist). Returns ``(FileEvaluation, command)``.
    The units are known to agree here, so a far-off ICP scale (a poor reconstruction) is a
    warning on the job, not an error; a units mismatch is still caught by the extent check."""
    from eval.chamfer import EvalConfig
    from eval.evaluate import evaluate_files, h3ds_scene_files
    from eval.meshio import EvalInputError

    try:
        files = h3ds_scene_files(scene_dir)
        if files.landmarks is None and files.face_sphere is None:
            raise EvalInputError(f"{scene_dir}: neither landmarks.txt nor regions/face_sphere.txt: no face score")
        res = evaluate_files(pred_path, files.gt, landmarks=files.landmarks, icp_region=files.icp_region,
                             face_sphere=files.face_sphere, protocol="h3ds",
                             config=EvalConfig(face_radius=config.face_radius, max_scale=math.inf))
    except EvalInputError as e:
        raise InputError(str(e)) from None
    if heatmap is not None:
        from eval.plots import error_heatmap

        ev = res.evaluation
        err = np.full(len(res.gt.vertices), np.nan)
        err[ev.head.indices] = ev.head.distances
        error_heatmap(res.gt.vertices, res.gt.faces, err, heatmap, front=res.front, up=res.up,
                      title=f"{scene_dir.name}: head {ev.head.mean:.2f} mm, face {ev.face_sphere.mean:.2f} mm")
    return res, _eval_command(pred_path, files, config)


def run_h3ds_bench(root: str | Path, out: str | Path, config: BenchConfig = BenchConfig(), *,
                   fit_fn: Callable | None = None, load_scene_fn: Callable | None = None,
                   list_scenes_fn: Callable | None = None) -> BenchTable:
    """Fit, score and tabulate every (scene, view setup); skip jobs whose score.json exists
    (a job whose pred.ply exists but not its score is only re-scored). Failed fits are logged,
    left without score.json (a rerun retries them) and shown as failed in the table."""
    from neuhead.io import check_writable_dir, write_json

    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise InputError(f"{root}: H3DS root folder not found")
    check_writable_dir(out)
    fit_fn = fit_fn or default_fitter(config)
    load_scene_fn = load_scene_fn or functools.partial(_default_load_scene, frame=config.frame)
    specs = (list_scenes_fn or read_h3ds_config)(root)
    if config.scenes:
        known = {s.scene_id for s in specs}
        missing = [s for s in config.scenes if s not in known]
        if missing:
            raise InputError(f"{root / 'config.toml'}: unknown scene(s) {missing}; known: {sorted(known)}")
        specs = [s for s in specs if s.scene_id in config.scenes]
    labels = tuple(v.label for v in view_setups(config.views, specs[0])) if specs else ()
    table = BenchTable(config.views, config.preset, labels, [s.scene_id for s in specs])
    setting = {"views": config.views, "preset": config.preset, "iters": config.iters,
               "mesh_resolution": config.mesh_resolution, "seed": config.seed, "prior": config.prior,
               "frame": config.frame}

    for spec in specs:
        scene_dir = root / spec.scene_id
        for setup in view_setups(config.views, spec):
            job_dir = out / "scenes" / spec.scene_id / setup.label
            score_path, pred_path = job_dir / "score.json", job_dir / "pred.ply"
            if score_path.is_file():
                try:
                    rec = json.loads(score_path.read_text())
                except (OSError, json.JSONDecodeError):
                    rec = None
                if rec and rec.get("setting") == setting and list(rec.get("views", [])) == list(setup.views):
                    log.info("%s %s: done, skipped (%s)", spec.scene_id, setup.label, score_path)
                    table.jobs.append(_job_from_record(rec))
                    continue
                log.info("%s %s: stale score.json (other settings), redone", spec.scene_id, setup.label)
                score_path.unlink()
                pred_path.unlink(missing_ok=True)
            fit_s = math.nan
            try:
                if not pred_path.is_file():
                    log.info("%s %s: fitting views %s (preset %s)", spec.scene_id, setup.label, setup.views, config.preset)
                    t0 = time.perf_counter()
                    scene = load_scene_fn(root, spec.scene_id, list(setup.views))
                    mesh = fit_fn(scene, config.preset)
                    fit_s = time.perf_counter() - t0
                    _write_mesh(mesh, pred_path)
                t0 = time.perf_counter()
                heat = job_dir / "heatmap.png" if config.heatmaps else None
                res, cmd = score_prediction(pred_path, scene_dir, config, heat)
                eval_s = time.perf_counter() - t0
            except Exception as e:  # one bad scene must not lose the others
                log.error("%s %s: failed: %s: %s", spec.scene_id, setup.label, e.__class__.__name__, e)
                table.jobs.append(JobResult(spec.scene_id, setup.label, setup.views, math.nan, math.nan,
                                            error=f"{e.__class__.__name__}: {e}"))
                continue
            ev = res.evaluation
            job = JobResult(spec.scene_id, setup.label, setup.views, ev.face_sphere.mean, ev.head.mean,
                            fit_s, eval_s, ev.warnings, None, cmd)
            write_json(score_path, {"setting": setting, **asdict(job), "evaluation": ev.summary()})
            log.info("%s %s: face %.3f mm, head %.3f mm", spec.scene_id, setup.label, job.face, job.head)
            table.jobs.append(job)
    write_table(table, out)
    return table
