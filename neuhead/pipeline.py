"""The fit job end to end: a Scene in, a fitted Reconstruction and its files out.

Outputs in ``out_dir``: ``mesh.ply`` (world frame, vertex colours), ``head.glb``, ``head.obj`` (+ mtl/png; the
texture projected from the input photos, the field elsewhere), ``viewer.html`` (offline 3D view of head.glb),
``preview.png``, ``turntable.png``/``.gif``, ``report.json``, ``cameras.npz`` (refined cameras, NeuS format)
and ``checkpoint.safetensors``.
Everything but the checkpoint (which must survive a kill mid-run) is written once, atomically, at the end.
"""

from __future__ import annotations

import copy
import logging
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from meshing.extract import OUTPUT_RESOLUTION
from neuhead.config import FitConfig, for_views, to_dict
from neuhead.data.neus import write_cameras_npz
from neuhead.data.scene import Scene
from neuhead.io import atomic_path, check_writable_dir, write_json
from neuhead.model.multineus import MultiNeuS
from neuhead.reconstruction import Reconstruction
from neuhead.train.checkpoint import load_checkpoint, save_checkpoint
from neuhead.train.fit import (CHECKPOINT_NAME, FitResult, check_resume, fitted_to_world, init_scene_to_base,
                               init_scene_to_shape, peak_memory_mb, run_stages)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputOptions:
    """What ``run_fit`` writes besides the checkpoint."""

    mesh_resolution: int = OUTPUT_RESOLUTION
    """marching-cubes resolution of mesh.ply and of the surface the assets are made from"""
    faces: int = 50_000
    """face budget of the decimated game-engine meshes (GLB/OBJ)"""
    texture: int = 1024
    """texture size (px) of the GLB/OBJ"""
    units: str = "m"
    """units of the GLB/OBJ (glTF expects metres)"""
    previews: bool = True
    """write preview.png (each input | the textured mesh at its refined camera), turntable.png and turntable.gif"""
    texture_source: str = "photo"
    """"photo": the texture is projected from the input photos where they see the head, the field fills the
    rest; "field": the radiance field alone"""
    world_units: str | None = None
    """world units of the input ("mm", "cm", "m") when its own are unknown; None: guessed from the head's size"""
    viewer: bool = True
    """write viewer.html (head.glb and three.js in one offline page)"""


def prepare_prior(prior: MultiNeuS, scene_init: str = "mean", init_iters: int = 400, seed: int = 0,
                  scene: Scene | None = None, shape=None) -> MultiNeuS:
    """The model a fit starts from: a copy of ``prior`` (the caller's model is never changed) without its
    meta-learning background fields, with a new scene initialised to the mean of the training scenes
    (``scene_init="base"``: then regressed to the base SDF, ``init_scene_to_base``; "landmarks": its face
    regressed to the ICT head fitted to ``scene``'s detected face meshes, ``init_scene_to_shape``, or to
    ``shape`` when given; a scene that was not placed from its images, e.g. in the file's own frame, starts at
    the mean, with a warning)."""
    model = copy.deepcopy(prior)
    model.drop_background()
    k = model.add_scene()
    if scene_init == "base":
        err = init_scene_to_base(model, k, init_iters, seed)
        log.info("new scene regressed to the base SDF: mean |error| %.4f (unit frame)", err)
    elif scene_init == "landmarks" and shape is None and not _detections(scene):
        log.warning("the scene was not placed from its images (no detected face meshes: the file's own frame?); "
                    "the new scene starts at the mean head")
    elif scene_init == "landmarks":
        shape = scene_face_shape(scene) if shape is None else shape
        err = init_scene_to_shape(model, k, shape, init_iters, seed)
        log.info("new scene's face regressed to the landmark-fitted head (%d points, RMS %.2f px): mean |error| "
                 "%.4f (unit frame)", shape.points, shape.rms_px, err)
    return model


def _detections(scene: Scene | None) -> tuple:
    """The face meshes ``scene``'s placement detected (per view (468, 2) or None), () if it has none."""
    p = None if scene is None else scene.placement
    return tuple(getattr(p, "detections", ())) if p is not None and p.similarity is not None else ()


def scene_face_shape(scene: Scene | None):
    """The ICT head fitted to the face meshes ``scene``'s placement detected, with one view read from its image by
    the learned regressor (``data.face_shape``); a ``ValueError`` names what is missing."""
    from neuhead.data.face_shape import fit_face_shape

    dets = _detections(scene)
    if not dets:
        raise ValueError("scene_init='landmarks' needs a scene placed in the canonical frame from its images "
                         "(its placement keeps the detected face meshes)")
    if len(dets) != len(scene):
        raise ValueError(f"scene_init='landmarks': the placement saw {len(dets)} views, the scene has {len(scene)} "
                         "(place the scene after choosing its views)")
    return fit_face_shape(scene.cameras, dets, images=scene.images)


def result_reconstruction(result: FitResult, cfg: FitConfig, report: dict | None = None) -> Reconstruction:
    """The Reconstruction of a finished fit (refined cameras, the scene it was fitted to, ``report``)."""
    cams = result.scene.cameras
    if result.cameras_refined is not None:
        cams = result.cameras_refined.apply_to(cams)
    return Reconstruction(result.model, result.scene_index, fitted_to_world(result.scene, result.cameras_refined),
                          result.scene.units, cfg.render, cams, report or {}, scene=result.scene)


def is_placed(scene: Scene | None) -> bool:
    """Whether ``scene`` was placed in the canonical frame from its images (its placement holds the detected face
    meshes): what ``config.for_views``'s ``placed`` asks."""
    return bool(_detections(scene))


def is_photo(scene: Scene) -> bool:
    """Whether ``scene`` is one photo without cameras (placed by ``data.photo``: its camera is guessed)."""
    return scene.placement is not None and scene.placement.method == "photo"


def fit(scene: Scene, cfg: FitConfig, prior: MultiNeuS | None = None, *, checkpoint_dir: str | Path | None = None,
        resume: bool = False, progress: bool = True, device: str = "cpu", on_stage_end=None) -> Reconstruction:
    """The one fit: ``scene`` from scratch (``prior`` None) or as a new scene of a copy of ``prior``
    (``prepare_prior``), following ``cfg.stages``; checkpoints in ``checkpoint_dir`` (resumable) if given.
    The API, the CLI and the benchmarks all fit through here, then choose what to write. The stages are
    those of ``for_views(cfg, len(scene), is_photo(scene), placed)`` (with one view, a stage's ``params_one_view``; a photo
    without cameras starts from its landmarks)."""
    cfg = for_views(cfg, len(scene), is_photo(scene), placed=is_placed(scene))
    if resume and checkpoint_dir is not None:  # before the landmark start: nothing is fitted for a checkpoint of no use
        check_resume(Path(checkpoint_dir) / CHECKPOINT_NAME, scene, cfg)
    shape = anchor = None
    if prior is not None and cfg.scene_init == "landmarks" and _detections(scene):
        shape = scene_face_shape(scene)  # deterministic: a resumed fit finds the same face
        anchor = shape.sample_face(20_000, torch.Generator().manual_seed(cfg.seed))[0]
    model = None if prior is None else prepare_prior(prior, cfg.scene_init, cfg.scene_init_iters, cfg.seed, scene,
                                                     shape)
    result = run_stages(scene, cfg, model=model, out_dir=checkpoint_dir, resume=resume, progress=progress,
                        device=device, on_stage_end=on_stage_end, anchor=anchor)
    result.model = result.model.to("cpu")
    report = fit_report(result)
    if shape is not None:  # what the landmark start saw
        report["face_shape"] = {"points": shape.points, "rms_px": round(shape.rms_px, 3),
                                "identity_norm": round(float(np.linalg.norm(shape.identity)), 3)}
    return result_reconstruction(result, cfg, report)


def fit_report(result: FitResult) -> dict:
    """The fit's part of report.json: per-stage iterations, final losses and loss curve; timings."""
    return {"stages": {name: {"iterations": h[-1][0] if h else 0, "final": h[-1][1] if h else {},
                              "curve": [(it, logs["total"]) for it, logs in h]}
                       for name, h in result.history.items()},
            "timings_s": dict(result.timings)}


def run_fit(scene: Scene, out_dir: str | Path, cfg: FitConfig, prior: MultiNeuS | None = None,
            resume: bool = False, progress: bool = True, outputs: OutputOptions = OutputOptions(),
            device: str = "cpu", settings: dict | None = None) -> Reconstruction:
    """``fit`` with its checkpoint in ``out_dir``, then every output file (``write_outputs``, previews,
    report.json, the final checkpoint)."""
    out_dir = check_writable_dir(out_dir)
    cfg = for_views(cfg, len(scene), is_photo(scene), placed=is_placed(scene))  # as ``fit`` does, so that report.json holds the stages that ran
    t_start = time.perf_counter()
    recon = fit(scene, cfg, prior, checkpoint_dir=out_dir, resume=resume, progress=progress, device=device)

    t0, wall0 = time.perf_counter(), time.time()
    export_report = write_outputs(recon, out_dir, outputs, scene)
    t1 = time.perf_counter()
    log.info("wrote %s (%.1f s)", ", ".join(_written_since(out_dir, wall0)), t1 - t0)
    if outputs.previews:
        from neuhead.preview import write_previews

        previews = write_previews(export_report.textured, recon.cameras, scene.images, scene.masks, out_dir)
        log.info("wrote %s (%.1f s)", ", ".join(p.name for p in previews), time.perf_counter() - t1)
    t2 = time.perf_counter()
    report = run_report(recon, scene, cfg, export_report, outputs, settings, device,
                        {"meshes_and_assets": t1 - t0, "previews": t2 - t1, "outputs": t2 - t0})
    recon = replace(recon, report=report)
    _finalise_checkpoint(out_dir / CHECKPOINT_NAME, recon)
    write_json(out_dir / "report.json", report)
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and ".tmp" not in p.name)
    log.info("done: %d files in %s (%s); fit %.0f s, total %.0f s, peak memory %.0f MB", len(files), out_dir,
             ", ".join(files), report["timings_s"].get("total", 0.0), time.perf_counter() - t_start,
             report["peak_memory_mb"])
    return recon


def run_report(recon: Reconstruction, scene: Scene, cfg: FitConfig, export_report, outputs: OutputOptions,
               settings: dict | None, device: str, output_timings: dict[str, float]) -> dict:
    """report.json: settings, config, the scene and its placement, the fit (stages, timings), the export,
    the solid-field health figure, peak memory, cameras before/after, the machine."""
    return {
        "settings": settings or {},
        "config": to_dict(cfg),
        "scene": {"views": len(scene), "names": scene.names, "image_size": [scene.width, scene.height],
                  "to_world": scene.to_world, "world_units": scene.units},
        "placement": scene.placement.summary() if scene.placement is not None else {"method": "none"},
        "face_shape": recon.report.get("face_shape"),  # the landmark start's fit (None: another start)
        "stages": recon.report.get("stages", {}),
        "timings_s": dict(recon.report.get("timings_s", {}), **output_timings),
        "export": _export_summary(export_report),
        # issue 16: grid points of the meshing grid re-signed because they were positive but enclosed by the
        # surface (a hollow field); a health figure, 0 for a solid field
        "solid": {"resigned_voxels": getattr(export_report, "resigned_voxels", 0),
                  "resigned_fraction": getattr(export_report, "resigned_fraction", 0.0),
                  "grid_resolution": outputs.mesh_resolution},
        "peak_memory_mb": peak_memory_mb(),
        "cameras": {"before": {"K": scene.cameras.K, "c2w": scene.cameras.c2w},
                    "after": {"K": recon.cameras.K, "c2w": recon.cameras.c2w}},
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "device": device},
    }


def _written_since(out_dir: Path, wall: float) -> list[str]:
    """Names of the files in ``out_dir`` written at or after ``wall`` (``time.time()``); temporaries and the
    checkpoint (saved by the fit just before) left out."""
    return sorted(p.name for p in out_dir.iterdir() if p.is_file() and ".tmp" not in p.name
                  and p.name != CHECKPOINT_NAME and p.stat().st_mtime >= wall - 1.0)


def _export_summary(report) -> dict:
    """The JSON-able part of meshing's ExportReport (units, axis conversion, sizes)."""
    return _jsonable(report.as_dict()) if hasattr(report, "as_dict") else {}


def _finalise_checkpoint(path: Path, recon: Reconstruction) -> None:
    """Add the refined cameras and the report to the final checkpoint (weights only, no optimizer)."""
    meta = load_checkpoint(path).meta
    meta.pop("optim", None)
    c = recon.cameras
    meta["cameras"] = {"K": c.K.tolist(), "c2w": c.c2w.tolist(), "width": c.width, "height": c.height}
    meta["report"] = {k: v for k, v in recon.report.items() if k != "cameras"}
    meta = _jsonable(meta)
    save_checkpoint(path, recon.model, meta)


def _jsonable(o):
    import json

    from neuhead.io import _json_default

    return json.loads(json.dumps(o, default=_json_default))


def write_outputs(recon: Reconstruction, out_dir: Path, outputs: OutputOptions, scene: Scene | None = None):
    """mesh.ply (world frame, vertex colours), head.glb and head.obj (decimated, textured — from ``scene``'s
    photos unless ``outputs.texture_source`` is "field"; meshed and baked once for both), viewer.html,
    cameras.npz. Returns meshing's ExportReport (scale/axis conversion, face counts, the textured mesh)."""
    from meshing.export import export_asset, options_from_flat
    from meshing.extract import extract_surface, surface_mesh

    # one extraction serves mesh.ply and the decimated assets (it was made twice: ~10-20 s of a fit)
    mesh_cfg = options_from_flat(resolution=outputs.mesh_resolution).mesh
    surface = extract_surface(recon.sdf_fn, mesh_cfg)
    mesh = surface_mesh(surface, recon.color_fn, recon.to_world, mesh_cfg.chunk)
    with atomic_path(out_dir / "mesh.ply") as tmp:
        mesh.export(tmp, file_type="ply")
    units, notes = recon.export_units(outputs.world_units)
    views = recon.photo_views(scene) if scene is not None and outputs.texture_source == "photo" else None
    report = export_asset(recon.sdf_fn, recon.color_fn, recon.to_world, [out_dir / "head.glb", out_dir / "head.obj"],
                          world_units=units, views=views, notes=notes, texture_source=outputs.texture_source,
                          faces=outputs.faces, texture=outputs.texture, units=outputs.units,
                          resolution=outputs.mesh_resolution, surface=surface)
    if outputs.viewer:
        from meshing.viewer import write_viewer

        write_viewer(out_dir / "head.glb", title="neuhead head")
    if recon.cameras is not None:
        write_cameras_npz(out_dir / "cameras.npz", recon.cameras, recon.to_world)
    return report
