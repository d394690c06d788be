"""``neuhead export RUN_OR_CHECKPOINT --out head.glb [...]``: game-engine-ready files from a fitted head.

GLB (metres, +Y up, embedded baked texture), OBJ + MTL + PNG (names derived from the OBJ), PLY with
vertex colours; optionally the SDF on a grid (``<stem>_sdf.npz``) and the SDF network
(``<stem>_sdf.pt`` / ``.onnx``) taking world points. All the work is :func:`meshing.export.export_asset`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from meshing.extract import OUTPUT_RESOLUTION

log = logging.getLogger(__name__)

AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a textured GLB/OBJ/PLY (and SDF grid/network) from a fitted head")
    p.add_argument("checkpoint", type=Path, metavar="RUN_OR_CHECKPOINT",
                   help="a run folder (from `neuhead fit`) or its checkpoint.safetensors")
    p.add_argument("--out", type=Path, action="append", required=True,
                   help="output file: .glb, .obj or .ply; repeat --out for several (they share one meshing "
                        "and one texture bake)")
    p.add_argument("--faces", type=_faces, default=50_000,
                   help="target faces after decimation, or 'all' to keep the marching-cubes mesh")
    p.add_argument("--texture", type=int, default=2048, help="texture size in texels (1024 or 2048)")
    p.add_argument("--units", choices=("mm", "cm", "m"), default="m",
                   help="units of OBJ/PLY coordinates (GLB is always metres)")
    p.add_argument("--texture-source", choices=("photo", "field"), default="photo",
                   help="photo: project the fit's input photos (re-read from the path the fit recorded) at the "
                        "refined cameras where they see the head, the field elsewhere; field: the radiance field alone")
    p.add_argument("--world-units", choices=("mm", "cm", "m"), default=None,
                   help="units of the input's world frame when the input did not say (default: guessed from the "
                        "head's size; the report notes the guess)")
    p.add_argument("--resolution", type=int, default=OUTPUT_RESOLUTION, help="marching-cubes grid resolution (cells per axis)")
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


MAX_TEXTURE = 8192
"""largest --texture side (8192² RGB is 200 MB; larger bakes exhaust memory)"""
MAX_SDF_GRID = 1024
"""largest --sdf-grid (1024³ float32 samples are 4 GiB)"""


def _faces(text: str) -> int | None:
    """``--faces``: a positive integer, or ``all`` (None: no decimation)."""
    import argparse

    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--faces {text!r}: expected a face count or 'all'") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"--faces {text}: must be > 0, or 'all' to keep every face")
    return n


def sdf_paths(args) -> list[tuple[str, Path]]:
    """The extra files --sdf-grid / --sdf-net write beside the first --out (as meshing.export names them)."""
    from meshing.sdf_export import NET_FORMATS

    stem = args.out[0].with_suffix("")
    out = []
    if args.sdf_grid is not None:
        out.append(("--sdf-grid", Path(f"{stem}_sdf.npz")))
    if args.sdf_net is not None:
        out.append(("--sdf-net", Path(f"{stem}_sdf{NET_FORMATS[args.sdf_net]}")))
    return out


def check_options(args) -> None:
    """Every option and output path checked before anything is loaded or written."""
    from meshing.export import MESH_FORMATS

    from neuhead.commands import _checks as check
    from neuhead.errors import InputError

    for out in args.out:
        if out.suffix.lower() not in MESH_FORMATS:
            raise InputError(f"{out}: unknown mesh format {out.suffix or '(none)'!r} (use .glb, .obj or .ply)")
    check.resolution("--resolution", args.resolution)
    if not 16 <= args.texture <= MAX_TEXTURE:
        raise InputError(f"--texture {args.texture}: must be between 16 and {MAX_TEXTURE} texels (1024 or 2048 usual)")
    if args.sdf_grid is not None and not 2 <= args.sdf_grid <= MAX_SDF_GRID:
        raise InputError(f"--sdf-grid {args.sdf_grid}: must be between 2 and {MAX_SDF_GRID} samples per axis")
    if args.sdf_net == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise InputError("--sdf-net onnx: needs the 'onnx' package (pip install onnx), or use torchscript") from None
    check.existing("", args.checkpoint, "run folder or checkpoint")
    outputs = [("--out", p) for p in args.out]
    for p in args.out:
        if p.suffix.lower() == ".obj":  # the OBJ's material and texture files
            outputs += [("--out", p.with_suffix(".mtl")), ("--out", p.with_name(f"{p.stem}_texture.png"))]
    outputs += sdf_paths(args) + [("--report", args.report)]
    ckpt = args.checkpoint / "checkpoint.safetensors" if args.checkpoint.is_dir() else args.checkpoint
    check.distinct([("RUN_OR_CHECKPOINT", ckpt)], outputs=outputs)
    for option, p in outputs:
        check.output_file(option, p)


def _load_reconstruction(path: Path):
    from neuhead.reconstruction import load_reconstruction

    return load_reconstruction(path)


def input_scene(recon):
    """The fit's input Scene, re-read from the input path its report recorded (for a photo texture), or
    (None, a note saying why the texture comes from the field alone)."""
    from neuhead.data.load import load_input
    from neuhead.errors import InputError

    settings = (recon.report or {}).get("settings", {})
    path = settings.get("input")
    if not path or not Path(path).exists():
        where = f"the fit's input {path} was not found" if path else "the run does not record its input"
        return None, (f"texture from the field alone: {where} (a photo texture re-reads the input photos; "
                      "--texture-source field silences this)")
    try:
        scene = load_input(Path(path), views=settings.get("views"), mask=settings.get("mask"),
                           fov_y_deg=settings.get("fov"))
        recon.photo_views(scene)  # same views and sizes as the fit's cameras
    except (InputError, ValueError) as e:
        return None, f"texture from the field alone: {e}"
    return scene, None


def run(args) -> int:
    from meshing.export import export_asset

    from neuhead.io import write_json

    check_options(args)  # fail before loading anything
    recon = _load_reconstruction(args.checkpoint)
    units, notes = recon.export_units(args.world_units)
    scene, note = input_scene(recon) if args.texture_source == "photo" else (None, None)
    notes += [note] if note else []
    report = export_asset(
        recon.sdf_fn, recon.color_fn, recon.to_world, args.out, world_units=units, notes=notes,
        views=recon.photo_views(scene) if scene is not None else None, texture_source=args.texture_source,
        sdf_module=recon.sdf_module() if args.sdf_net else None,
        resolution=args.resolution, hierarchical=not args.dense, fill_holes=args.fill_holes,
        faces=args.faces, texture=args.texture, units=args.units,
        world_up=args.world_up, world_front=args.world_front, file_up=args.file_up, file_front=args.file_front,
        sdf_grid=args.sdf_grid, sdf_net=args.sdf_net,
    )
    if args.report is not None:
        write_json(args.report, report.as_dict())
    for note in report.notes:
        log.warning("note: %s", note)
    log.info("wrote %s (%d faces, %.1f s)", ", ".join(report.files), report.faces, sum(report.seconds.values()))
    return 0
