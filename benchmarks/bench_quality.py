"""Geometry quality on fresh synthetic heads (identities NOT in the prior's training set), H3DS protocol.

Every test head goes through the path a user's scene takes: it is written as a NeuS/IDR folder whose
``scale_mat`` is NOT the canonical frame (a sphere 1.3x larger, shifted 60/-30/40 mm), read back with
``load_input`` and placed in the canonical head frame from its images alone (``neuhead.data.placement``).
Two looks: ``train`` (the training renders' lighting, 360 rig at 0.6 m) and ``other`` (unlit albedo, a
15 deg field of view from 1.37 m, ``--other-res``, default 512²), so the numbers cannot be won by
matching the training renders; a third, ``below``, is the train look with its light moved under the head, a
lighting that neither the default nor the ``--lighting varied`` training set has. View configs: 1 = frontal, 3 = frontal/left/right, photo = the frontal render
written as a PNG and fitted through ``neuhead fit IMAGE``'s path (no cameras: landmarks, PnP, segmentation, crop).

Rows (H3DS toolbox metric: GT vertex -> nearest predicted vertex after the toolbox's coarse landmark alignment
(the six reference landmarks through the fit's own ``to_world`` onto the true ones) and ICP with scale, mm;
beside it the prediction -> truth direction, which sees inner walls and floaters). The ground truth scored is
the surface a scanner captures (``HeadGroundTruth.scan``, as an H3DS scan): the closed synthetic mesh minus the
vertices no outside ray reaches, i.e. the inner faces of the closed mouth slit (≈ 10-30 mm deep), the
nostrils and the eyelid folds (630-1160 of 10 775 vertices on the six acceptance heads, nearly all within 95 mm
of the nose tip). The closed mesh rewards a template that has the same slot and punishes any SDF; its scores
are kept as ``face_closed`` / ``head_closed`` (the numbers before this change):

- ``exact``: the head's own exact SDF through the same marching cubes as every fit, in the true frame: the
  vertex metric's floor at ``--resolution`` (a perfect field scores ≈ 0.28 mm at 512³, 0.56 at 256³).
- ``mean_placed``: the ICT-FaceKit mean head (the model's neutral: skin, eyes, neck), placed by the
  *estimated* canonical frame, no fitting. Every fitting method must beat it.
- ``mean_meshed``: the same placed mean head through the same marching cubes as a fit (its exact SDF): the
  template on the fits' footing (its own sparse vertices cost it ≈ 0.2 mm on the face).
- ``prior_mean``: the prior's mean head in the estimated frame, no fitting.
- ``start``: where the fit starts when ``scene_init`` is not the mean (e.g. ``--set scene_init=landmarks``).
- ``scratch``: NeuS from scratch in the file's frame (``--scratch``).
- ``before``: the prior fitted in the file's own ``scale_mat`` frame, as before placement (``--before``).
- ``stage1`` / ``full``: stage 1 only / full two-stage fitting in the estimated frame; ``full_lowres``: the same
  fit meshed at ``--compare-resolution``.
- ``full_gtframe``: full fitting in the ground-truth canonical frame (``--gt-frame``): the placement's cost.

``--bald-half`` renders the odd seeds without hair (the acceptance set: six heads, half bald); ``--set
KEY=VALUE`` overrides a value of the prior fits' config (``loss.coeff_prior=0.03``, ``stages.1.lr=1e-4``) for
tuning.

    python benchmarks/bench_quality.py --heads 4 --configs 1 --looks train,other --before --out runs/quality
    python benchmarks/bench_quality.py --heads 6 --bald-half --configs 1,3,photo --looks train --out runs/acc
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from meshing.extract import EVAL_RESOLUTION

#: a foreign scale_mat: the canonical sphere scaled by this and shifted by that (mm)
FOREIGN_SCALE = 1.3
FOREIGN_SHIFT_MM = (60.0, -30.0, 40.0)

ROWS = {"exact": "exact surface, meshed (the metric's floor)", "mean_placed": "mean head, placed (no fit)",
        "mean_meshed": "mean head, placed, meshed", "prior_mean": "prior mean head, placed (no fit)",
        "start": "the fit's start (scene_init), placed",
        "scratch": "no prior (NeuS), file frame", "before": "prior fit in the file's frame (before)",
        "stage1": "stage 1 only, placed", "full": "full fitting, placed", "full_lowres": "full fitting, placed, at --compare-resolution",
        "full_gtframe": "full fitting, GT frame"}


def evaluate(mesh, gt, to_world=None):
    """The H3DS evaluation (``eval.chamfer.H3DSEvaluation``) of ``mesh`` against ``gt`` (the scan surface,
    ``HeadGroundTruth.scan``). ``to_world`` (the fit's unit sphere -> world): the six reference landmarks mapped by it
    are the prediction's landmarks for the protocol's coarse alignment onto the ground-truth landmarks (step 1 of the
    H3DS toolbox), so a one-view head placed at the wrong depth (the reference size assumed, 1.4 m away) is not lost
    by the ICP; scoring may read the ground truth, the fit never does."""
    from eval.align import apply_matrix
    from eval.chamfer import evaluate_h3ds
    from eval.meshio import MeshData
    from neuhead.data.canonical import LANDMARK_NAMES, reference_unit

    coarse = {}
    if to_world is not None:
        unit = np.stack([reference_unit(n) for n in LANDMARK_NAMES])
        coarse = {"pred_landmarks": apply_matrix(to_world, unit),
                  "gt_landmarks": np.stack([gt.landmarks[n] for n in LANDMARK_NAMES])}
    return evaluate_h3ds(MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), "pred"),
                         MeshData(gt.vertices, gt.faces, "gt"), nose_tip=gt.landmarks["nose_tip"],
                         icp_region=gt.regions["face"], **coarse)


def score(mesh, gt, to_world=None, closed=None) -> dict[str, float]:
    """H3DS scores of ``mesh`` against ``gt`` (:func:`evaluate`); with ``closed`` (the closed ground-truth mesh)
    also ``face_closed`` / ``head_closed`` against it."""
    ev = evaluate(mesh, gt, to_world)
    # face/head: the H3DS toolbox direction (ground truth -> prediction); *_acc: prediction -> truth, which
    # an inner wall or a floater cannot hide from (issue 16)
    out = {"face": ev.face_sphere.mean, "head": ev.head.mean, "face_acc": ev.face_sphere.accuracy,
           "head_acc": ev.head.accuracy, "icp_scale": float(ev.face_sphere.alignment.scale)}
    if closed is not None:
        c = score(mesh, closed, to_world)
        out.update(face_closed=c["face"], head_closed=c["head"])
    return out


def foreign_frame(scene):
    """The same world and images with a scale_mat that is not the canonical frame; no landmarks."""
    T = scene.to_world.copy()
    T[:3, :3] *= FOREIGN_SCALE
    T[:3, 3] += np.asarray(FOREIGN_SHIFT_MM)
    return replace(scene, cameras=scene.world_cameras().transformed(np.linalg.inv(T)), to_world=T, landmarks=None)


def model_to_world(placed_scene, model) -> np.ndarray:
    """(4, 4): ICT model mm -> canonical mm (the neutral's six landmarks) -> the scene's world, by the scene's
    estimated canonical frame."""
    from neuhead.data.canonical import canonical_similarity

    lms = {k: model.neutral[i] for k, i in model.landmark_ids().items()}
    return placed_scene.placement.similarity.inverse().matrix @ canonical_similarity(lms).matrix


def mean_head_placed(placed_scene):
    """The ICT neutral head put in the scene's world by its estimated canonical frame (no fitting)."""
    import trimesh

    from eval.align import apply_matrix
    from neuhead.data.synthetic.head import load_head_model

    model = load_head_model()
    return trimesh.Trimesh(apply_matrix(model_to_world(placed_scene, model), model.neutral), model.faces, process=False)


def meshed_field(geo, to_world, resolution: int):
    """An exact field (``HeadGeometry``: a head's or the ICT neutral's signed distance in its unit frame) through
    the same marching cubes as a fit, mapped to the world by ``to_world`` (its unit frame -> world)."""
    from meshing.extract import MeshConfig, extract_mesh
    from meshing.grid import GridConfig

    return extract_mesh(lambda x: geo.sdf(np.asarray(x, np.float64)).astype(np.float32), None, to_world,
                        MeshConfig(grid=GridConfig(resolution=resolution)))


def frame_error(gt_to_world: np.ndarray, to_world: np.ndarray) -> dict[str, float]:
    """How far a fit's unit frame is from the ground-truth canonical frame (both unit -> world): the rotation
    angle (deg), pitch and yaw (deg) and the scale of ``inv(gt_to_world) @ to_world``. Scoring only."""
    E = np.linalg.inv(gt_to_world) @ to_world
    s = float(np.cbrt(np.linalg.det(E[:3, :3])))
    R = E[:3, :3] / s
    from eval.align import rotation_angle_deg

    angle = rotation_angle_deg(np.eye(3), R)
    return {"deg": angle, "pitch": float(np.degrees(np.arctan2(R[2, 1], R[2, 2]))),
            "yaw": float(np.degrees(np.arcsin(np.clip(-R[2, 0], -1, 1)))), "scale": s}


def render_head(seed: int, look: str, n_views: int, res: int, other_res: int, hair: bool = True):
    from neuhead.data.synthetic.scene import SynthConfig, make_head_scene

    if look == "train":
        return make_head_scene(seed, n_views=n_views, res=res, rig="360", hair=hair)
    if look == "other":
        return make_head_scene(seed, n_views=n_views, res=other_res, rig="360tele", hair=hair,
                               config=SynthConfig(unlit=True))
    if look == "below":
        return make_head_scene(seed, n_views=n_views, res=res, rig="360", hair=hair,
                               config=SynthConfig(lighting="below"))
    raise SystemExit(f"--looks: unknown look {look!r} (train, other, below)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--views", type=int, default=24, help="rendered views per head (360 rig) to pick F/L/R from")
    ap.add_argument("--res", type=int, default=256, help="image size of the train look")
    ap.add_argument("--other-res", type=int, default=512, help="image size of the other look")
    ap.add_argument("--looks", default="train", help="comma-separated: train, other, below (the train look lit from below: "
                                                     "outside every training set's lighting)")
    ap.add_argument("--bald-half", action="store_true",
                    help="render the heads with odd seeds (9000001, 9000003, ...) without hair (same identity and look)")
    ap.add_argument("--resolution", type=int, default=EVAL_RESOLUTION,
                    help="marching-cubes resolution of every mesh (512: the NeuS evaluation grid)")
    ap.add_argument("--compare-resolution", type=int, default=None,
                    help="also score each full fit meshed at this resolution (row full_lowres), e.g. 256")
    ap.add_argument("--prior", default=None, help="prior folder (default: shipped)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--configs", default="1,3")
    ap.add_argument("--photo-fov", type=float, default=None,
                    help="vertical field of view (deg) the photo config is given (default: the photo path's own, a camera 1 m "
                         "from the head); the train look's frontal render has 33.4, the other look's 15")
    ap.add_argument("--fit-iters", type=int, default=None, help="total iterations of the prior fit (default: the preset's)")
    ap.add_argument("--scratch", action="store_true", help="also fit NeuS from scratch (slow)")
    ap.add_argument("--before", action="store_true", help="also fit the prior in the file's frame (as before placement)")
    ap.add_argument("--gt-frame", action="store_true", help="also fit the prior in the ground-truth canonical frame")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a fit-config value for the prior fits, e.g. loss.coeff_prior=0.01, stages.1.lr=3e-4 "
                         "(repeatable)")
    ap.add_argument("--one-view-rotation", choices=("pnp", "mesh"), default="pnp",
                    help="the one-view placement's rotation (neuhead.data.placement.PlacementConfig.one_view_rotation)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()

    import torch
    from PIL import Image

    from neuhead.api import fit_config
    from neuhead.config import for_views
    from neuhead.data.photo import load_photo, photo_placement
    from neuhead.data.synthetic.geometry import HeadGeometry, neutral_geometry
    from neuhead.data.h3ds import default_views_configs
    from neuhead.data.load import load_input
    from neuhead.data.placement import PlacementConfig
    from neuhead.data.neus import write_neus
    from neuhead.prior import load_prior
    from neuhead.reconstruction import Reconstruction
    from neuhead.pipeline import fit as fit_one
    from neuhead.pipeline import is_photo, is_placed, prepare_prior

    from neuhead.commands import _checks
    from neuhead.errors import InputError

    try:
        _checks.resolution("--resolution", a.resolution)
        _checks.resolution("--compare-resolution", a.compare_resolution)
    except InputError as e:
        raise SystemExit(str(e)) from None
    bad = [vc for vc in a.configs.split(",") if vc not in ("1", "3", "photo")]
    if bad:
        raise SystemExit(f"--configs: unknown view config(s) {', '.join(bad)} (1, 3, photo)")
    # one prior for every fit (each fit copies it) and one config, checked before any head is rendered
    prior = load_prior(a.prior)
    prior_cfg = override(fit_config(a.preset, prior.config.model, a.fit_iters, seed=0), a.overrides)
    mean_model = prepare_prior(prior.model)  # the mean scene: the prior's mean head
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_quality_"))
    neutral = neutral_geometry()

    def prior_fit(scene, row_key, row, stage1_too=False, lm_to_world=None, gt_to_world=None):
        lm_to_world = scene.to_world if lm_to_world is None else lm_to_world
        cfg = prior_cfg
        stage1 = {}

        def on_end(stage, model):
            if stage1_too and stage.name == "stage1":
                stage1["mesh"] = Reconstruction(model, model.n_scenes - 1, scene.to_world, "mm").extract_mesh(a.resolution)

        t = time.perf_counter()
        recon = fit_one(scene, cfg, prior.model, progress=False, on_stage_end=on_end)
        row[f"{row_key}_s"] = time.perf_counter() - t
        last = list(recon.report["stages"].values())[-1]["final"]  # the fit's own last logged losses (no GT)
        row[f"{row_key}_loss"] = {k: v for k, v in last.items() if isinstance(v, float)}
        if stage1_too:
            row["stage1"] = score(stage1["mesh"], gt, lm_to_world, gt_closed)
        mesh = recon.extract_mesh(a.resolution)
        row[row_key] = score(mesh, gt, lm_to_world, gt_closed)
        if gt_to_world is not None:  # the frame after the fit's head pose (the placement's correction)
            row[f"{row_key}_frame"] = frame_error(gt_to_world, recon.to_world)
        if a.compare_resolution is not None and row_key == "full":
            row["full_lowres"] = score(recon.extract_mesh(a.compare_resolution), gt, lm_to_world, gt_closed)
        return mesh

    for h in range(a.heads):
        seed = a.seed + h
        hair = not (a.bald_half and seed % 2 == 1)
        exact = None  # the head's exact surface meshed like a fit: what the vertex metric gives a perfect field
        for look in a.looks.split(","):
            scene, gt_closed = render_head(seed, look, a.views, a.res, a.other_res, hair=hair)
            gt = gt_closed.scan()  # what a scanner sees: the closed mouth slit's inner faces removed
            if exact is None:
                geo = HeadGeometry(seed, hair=hair)
                exact = score(meshed_field(geo, geo.to_world, a.resolution), gt, scene.to_world, gt_closed)
            configs = default_views_configs(scene)  # chosen from the true cameras: benchmark set-up, not the fit
            for vc in a.configs.split(","):
                if vc == "photo":  # the frontal render as a PNG through `neuhead fit IMAGE`'s path: no cameras
                    views = configs["1"]
                    png = tmp / f"{seed}_{look}_photo.png"
                    Image.fromarray((np.clip(scene.images[views[0]], 0, 1) * 255 + 0.5).astype(np.uint8)).save(png)
                    placed = photo_placement(load_photo(png, fov_y_deg=a.photo_fov))
                else:
                    views = configs[vc]
                    folder = write_neus(foreign_frame(scene.subset(views)), tmp / f"{seed}_{look}_{vc}")
                    placed = load_input(folder, placement=PlacementConfig(one_view_rotation=a.one_view_rotation))  # the user's path: images + cameras -> canonical frame
                p = placed.placement
                row = {"seed": seed, "look": look, "views": vc, "view_idx": views, "fit_iters": a.fit_iters, "photo_fov": a.photo_fov, "set": a.overrides,
                       "gt_hidden_vertices": gt.info["scan"]["hidden_vertices"],
                       "resolution": a.resolution, "hair": bool(gt.info.get("hair")), "placement": {"method": p.method, "used": list(p.views_used),
                                                                       "warnings": list(p.warnings)}}
                row["exact"] = exact
                row["mean_placed"] = score(mean_head_placed(placed), gt, placed.to_world, gt_closed)
                row["mean_meshed"] = score(meshed_field(neutral, model_to_world(placed, neutral.model) @ neutral.to_world,
                                                        a.resolution), gt,
                                           placed.to_world, gt_closed)
                k = mean_model.n_scenes - 1
                row["prior_mean"] = score(Reconstruction(mean_model, k, placed.to_world, "mm").extract_mesh(a.resolution), gt,
                                         placed.to_world, gt_closed)
                init = for_views(prior_cfg, len(placed), is_photo(placed), placed=is_placed(placed)).scene_init
                if init != "mean":  # where the fit starts (prepare_prior is deterministic)
                    start = prepare_prior(prior.model, init, prior_cfg.scene_init_iters, 0, placed)
                    row["start"] = score(Reconstruction(start, k, placed.to_world, "mm").extract_mesh(a.resolution), gt,
                                         placed.to_world, gt_closed)
                if a.scratch and vc != "photo":
                    t = time.perf_counter()
                    cfg = fit_config(a.preset, None, None, seed=0)
                    recon = fit_one(load_input(folder, frame="file"), cfg, None, progress=False)
                    row["scratch"] = score(recon.extract_mesh(a.resolution), gt, placed.to_world, gt_closed)
                    row["scratch_s"] = time.perf_counter() - t
                if a.before and vc != "photo":
                    # scored with the estimated landmarks: the file frame knows none
                    prior_fit(load_input(folder, frame="file"), "before", row, lm_to_world=placed.to_world)
                if vc != "photo":  # a photo's world is its guessed camera's, not the render's
                    row["placed_frame"] = frame_error(scene.to_world, placed.to_world)
                mesh = prior_fit(placed, "full", row, stage1_too=True,
                                 gt_to_world=scene.to_world if vc != "photo" else None)
                mesh.export(a.out / f"head{seed}_{look}_v{vc}_full.ply")
                if a.gt_frame and vc != "photo":
                    prior_fit(scene.subset(views), "full_gtframe", row)
                row["threads"] = torch.get_num_threads()
                rows.append(row)
                print(json.dumps(row), flush=True)
                (a.out / "quality.json").write_text(json.dumps(rows, indent=2))
    print_table(rows)


def override(cfg, items: list[str]):
    """``cfg`` with ``KEY=VALUE`` items applied: ``loss.core=0``, ``stages.1.lr=3e-4``, ``batch_rays=512``."""
    import ast

    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE, e.g. stages.1.lr=3e-4")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        cfg = _set(cfg, key.split("."), value)
    return cfg


def _set(obj, path: list[str], value):
    if not path:
        if obj is None:  # an optional field that is unset (stages.1.params_one_view): the config checks the value
            return value
        if isinstance(obj, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not type(obj):
            raise SystemExit(f"--set: expected a {type(obj).__name__} (the current value is {obj!r}), got {value!r}")
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, tuple):
        if not head.isdigit() or int(head) >= len(obj):
            raise SystemExit(f"--set: index {head!r} is not one of 0..{len(obj) - 1}")
        i = int(head)
        return obj[:i] + (_set(obj[i], rest, value),) + obj[i + 1:]
    if not hasattr(obj, head):
        raise SystemExit(f"--set: {type(obj).__name__} has no field {head!r}")
    try:
        return replace(obj, **{head: _set(getattr(obj, head), rest, value)})
    except ValueError as e:  # a config's own check (e.g. StageConfig.params)
        raise SystemExit(f"--set: {e}") from None


def print_table(rows: list[dict]) -> None:
    print("\n| look | views | method | face (mm) | head (mm) | face pred->gt | head pred->gt | face, closed GT | "
          "head, closed GT | ICP scale range |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for look in dict.fromkeys(r["look"] for r in rows):
        for vc in dict.fromkeys(r["views"] for r in rows):
            sel = [r for r in rows if r["views"] == vc and r["look"] == look]
            if not sel:
                continue
            for key, label in ROWS.items():
                if key not in sel[0]:
                    continue

                def med(k):
                    v = [r[key][k] for r in sel if r[key].get(k) is not None]
                    return f"{statistics.median(v):.2f}" if v else "-"

                sc = [r[key]["icp_scale"] for r in sel]
                print(f"| {look} | {vc} | {label} | {med('face')} | {med('head')} | {med('face_acc')} | "
                      f"{med('head_acc')} | {med('face_closed')} | {med('head_closed')} | {min(sc):.3f}-{max(sc):.3f} |")


if __name__ == "__main__":
    main()
