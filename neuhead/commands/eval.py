"""``neuhead eval PRED_MESH GT_MESH``: H3DS-style (or surface Chamfer) scores of a mesh against a scan.

Distances are in the meshes' own units (millimetres for H3DS). Examples::

    neuhead eval head.ply scene/full_head.obj --landmarks scene/landmarks.txt --icp-region scene/regions/face.txt
    neuhead eval head.ply scan.obj --nose-tip 0,4,130 --protocol surface --json
"""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="score a mesh against a ground-truth scan (H3DS protocol, mm)",
                       description="Align PRED_MESH to GT_MESH and report the H3DS metric (mean distance "
                                   "from each ground-truth vertex to the nearest predicted vertex, input "
                                   "units) over the full head, face_sphere (95 mm around the nose tip) "
                                   "and an optional region; or surface Chamfer + F-score.")
    p.add_argument("pred", type=Path, help="predicted mesh (.ply/.obj/.glb), in the scan's frame and units")
    p.add_argument("gt", type=Path, help="ground-truth mesh, e.g. H3DS full_head.obj (mm)")
    nose = p.add_mutually_exclusive_group()
    nose.add_argument("--nose-tip", default=None, help="nose tip 'x,y,z' on the ground truth (enables face_sphere); write --nose-tip=-1,2,3 when x < 0")
    nose.add_argument("--landmarks", type=Path, default=None,
                      help="ground-truth landmarks.txt (lines 'name vertex_index'; uses nose_tip)")
    p.add_argument("--pred-landmarks", type=Path, default=None,
                   help="landmarks.txt on the prediction's vertices: coarse alignment first (needs --landmarks)")
    p.add_argument("--region", type=Path, default=None, help="extra region to score (vertex indices, one a line)")
    p.add_argument("--face-sphere", type=Path, default=None,
                   help="face_sphere region file (default: vertices within --face-radius of the nose tip)")
    p.add_argument("--icp-region", type=Path, default=None,
                   help="region for the full-head ICP (H3DS: regions/face.txt; default face_sphere, else all)")
    p.add_argument("--face-radius", type=float, default=95.0, help="face_sphere radius in mesh units (95 mm)")
    p.add_argument("--max-scale", type=float, default=2.0,
                   help="fail when the ICP scale is beyond [1/x, x] (units mismatch); 'inf' = only warn")
    p.add_argument("--protocol", choices=["h3ds", "surface"], default="h3ds",
                   help="h3ds = the toolbox's ICP + vertex distances; surface = sampled Chamfer + F-score")
    p.add_argument("--samples", type=int, default=100_000, help="surface protocol: points per surface")
    p.add_argument("--seed", type=int, default=0, help="surface protocol: sampling seed")
    p.add_argument("--threshold", type=float, default=1.0, help="surface protocol: F-score threshold (mesh units)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON scores to this file")
    p.add_argument("--heatmap", type=Path, default=None, help="write a per-vertex error heatmap PNG (h3ds protocol)")
    p.set_defaults(run=run)


def format_scores(evaluation) -> str:
    """Human-readable lines, one per scored region of an ``H3DSEvaluation`` or ``SurfaceEvaluation``."""
    return "\n".join(s.describe() for s in evaluation.scores())


def check_options(args) -> None:
    """Every option and output path checked before any mesh is read."""
    import math

    from neuhead.commands import _checks as check
    from neuhead.errors import InputError

    if args.heatmap is not None and args.protocol != "h3ds":
        raise InputError("--heatmap needs --protocol h3ds (per-vertex distances)")
    check.at_least("--samples", args.samples, 1, " (points sampled per surface)")
    check.positive("--face-radius", args.face_radius, " (mesh units, 95 for millimetres)")
    check.positive("--threshold", args.threshold, " (F-score distance, mesh units)")
    if math.isnan(args.max_scale) or args.max_scale < 1:
        raise InputError(f"--max-scale {args.max_scale}: must be >= 1 (or inf to only warn)")
    for option, p in (("--landmarks", args.landmarks),
                      ("--pred-landmarks", args.pred_landmarks), ("--region", args.region),
                      ("--face-sphere", args.face_sphere), ("--icp-region", args.icp_region)):
        if p is not None and not p.is_file():
            raise InputError(f"{option} {p}: no such file")
    check.distinct([("PRED_MESH", args.pred), ("GT_MESH", args.gt), ("--landmarks", args.landmarks),
                    ("--pred-landmarks", args.pred_landmarks), ("--region", args.region),
                    ("--face-sphere", args.face_sphere), ("--icp-region", args.icp_region)], outputs=[
                    ("--out", args.out), ("--heatmap", args.heatmap)])
    check.output_file("--out", args.out)
    check.output_file("--heatmap", args.heatmap, (".png", ".jpg", ".jpeg", ".pdf", ".svg"))


def run(args) -> int:
    from dataclasses import replace

    import numpy as np

    from eval.chamfer import EvalConfig
    from eval.evaluate import evaluate_files
    from eval.meshio import EvalInputError
    from neuhead.errors import InputError
    from neuhead.io import write_json

    check_options(args)
    cfg = replace(EvalConfig(), face_radius=args.face_radius, max_scale=args.max_scale, n_samples=args.samples, seed=args.seed,
                  fscore_threshold=args.threshold)
    try:
        res = evaluate_files(args.pred, args.gt, nose_tip=args.nose_tip, landmarks=args.landmarks,
                             pred_landmarks=args.pred_landmarks, region=args.region,
                             face_sphere=args.face_sphere, icp_region=args.icp_region,
                             protocol=args.protocol, config=cfg)
    except EvalInputError as e:
        raise InputError(str(e)) from None
    except np.linalg.LinAlgError as e:  # ICP on meshes that do not overlap (another frame, far apart)
        raise InputError(f"{args.pred} vs {args.gt}: the alignment failed ({e}); are both meshes in the same "
                         "frame and units? (--pred-landmarks gives ICP a coarse start)") from None
    ev, gt = res.evaluation, res.gt
    summary = {"pred": str(args.pred), "gt": str(args.gt), **ev.summary()}
    if args.out is not None:
        write_json(args.out, summary)
    if args.heatmap is not None:
        from eval.plots import error_heatmap

        err = np.full(len(gt.vertices), np.nan)
        err[ev.head.indices] = ev.head.distances
        title = f"head {ev.head.mean:.2f}" + (f" | face_sphere {ev.face_sphere.mean:.2f}" if ev.face_sphere else "")
        error_heatmap(gt.vertices, gt.faces, err, args.heatmap, front=res.front, up=res.up, title=title + " (mean, mesh units)")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_scores(ev))
    return 0
