"""``neuhead export RUN_OR_CHECKPOINT --out head.glb [...]``: game-engine-ready files from a fitted head.

GLB (metres, +Y up, embedded baked texture), OBJ + MTL + PNG (names derived from the OBJ), PLY with
vertex colours; optionally the SDF on a grid (``<stem>_sdf.npz``) and the SDF network
(``<stem>_sdf.pt`` / ``.onnx``) taking world points. All the work is :func:`meshing.export.export_asset`.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a textured GLB/OBJ/PLY (and SDF grid/network) from a fitted head")
    p.add_argument("checkpoint", type=Path, metavar="RUN_OR_CHECKPOINT",
                   help="a run folder (from `neuhead fit`) or its checkpoint.safetensors")
    p.add_argument("--out", type=Path, action="append", required=True,
                   help="output file: .glb, .obj or .ply; repeat --out for several (they share one meshing "
                        "and one texture bake)")
    p.add_argument("--faces", type=int, default=50_000, help="target faces after decimation (0: keep all)")
    p.add_argument("--texture", type=int, default=2048, help="texture size in texels (1024 or 2048)")
    p.add_argument("--units", choices=("mm", "cm", "m"), default="m",
                   help="units of OBJ/PLY coordinates (GLB is always metres)")
    p.add_argument("--resolution", type=int, default=256, help="marching-cubes grid resolution (cells per axis)")
    p.add_argument("--dense", action="store_true", help="evaluate the full grid (reference path; slower)")
    p.add_argument("--fill-holes", action="store_true", help="close open boundaries such as the neck cut")
    p.add_argument("--world-up", choices=AXES, default="+y", help="axis of the scene's world frame that points up")
    p.add_argument("--world-front", choices=AXES, default="+z", help="axis the face looks along in the world frame")
    p.add_argument("--file-up", choices=AXES, default="+y", help="up axis in OBJ/PLY files (GLB: always +y)")
    p.add_argument("--file-front", choices=AXES, default="+z", help="front axis in OBJ/PLY files (GLB: always +z)")
    p.add_argument("--sdf-grid", type=int, default=None, metavar="N",
                   help="also write the SDF sampled on N³ world-frame points as <stem>_sdf.npz")
    p.add_argument("--sdf-net", choices=("onnx", "torchscript"), default=None,
                   help="also write the SDF network (world points in, world units out) as <stem>_sdf.onnx/.pt")
    p.add_argument("--report", type=Path, default=None, help="write the export report (JSON) here")
    p.set_defaults(run=run)


def _load_reconstruction(path: Path):
    from neuhead.reconstruction import load_reconstruction

    return load_reconstruction(path)


def run(args) -> int:
    from meshing.export import MESH_FORMATS, export_asset

    from neuhead.errors import InputError
    from neuhead.io import write_json

    for out in args.out:  # fail before loading anything
        if out.suffix.lower() not in MESH_FORMATS:
            raise InputError(f"{out}: unknown mesh format {out.suffix or '(none)'!r} (use .glb, .obj or .ply)")
    if args.faces < 0 or args.texture < 16 or args.resolution < 8:
        raise InputError("--faces must be >= 0, --texture >= 16 and --resolution >= 8")
    if not args.checkpoint.exists():
        raise InputError(f"{args.checkpoint}: no such run folder or checkpoint")
    recon = _load_reconstruction(args.checkpoint)
    report = export_asset(
        recon.sdf_fn, recon.color_fn, recon.to_world, args.out, world_units=recon.world_units,
        sdf_module=recon.sdf_module() if args.sdf_net else None,
        resolution=args.resolution, hierarchical=not args.dense, fill_holes=args.fill_holes,
        faces=args.faces or None, texture=args.texture, units=args.units,
        world_up=args.world_up, world_front=args.world_front, file_up=args.file_up, file_front=args.file_front,
        sdf_grid=args.sdf_grid, sdf_net=args.sdf_net,
    )
    if args.report is not None:
        write_json(args.report, report.as_dict())
    for note in report.notes:
        log.warning("note: %s", note)
    log.info("wrote %s (%d faces, %.1f s)", ", ".join(report.files), report.faces, sum(report.seconds.values()))
    return 0
