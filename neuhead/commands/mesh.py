"""``neuhead mesh CHECKPOINT --resolution 512 --out FILE.(ply|obj|glb)``: re-extract a mesh."""

from __future__ import annotations

from pathlib import Path

from meshing.extract import OUTPUT_RESOLUTION


def add_parser(sub) -> None:
    p = sub.add_parser("mesh", help="extract a mesh from a checkpoint (dense marching cubes, world frame)")
    p.add_argument("checkpoint", type=Path, help="checkpoint.safetensors or a run folder")
    p.add_argument("--out", type=Path, required=True, help="output mesh: .ply, .obj or .glb")
    p.add_argument("--resolution", type=int, default=OUTPUT_RESOLUTION, help="grid resolution (cells per axis)")
    p.add_argument("--no-color", action="store_true", help="skip vertex colours")
    p.set_defaults(run=run)


def run(args) -> int:
    from neuhead.commands import _checks as check
    from neuhead.errors import InputError
    from neuhead.io import atomic_path
    from neuhead.reconstruction import load_reconstruction

    suffix = args.out.suffix.lower()
    if suffix not in (".ply", ".obj", ".glb"):
        raise InputError(f"{args.out}: unknown mesh format {suffix or '(none)'} (use .ply, .obj or .glb)")
    check.resolution("--resolution", args.resolution)
    check.output_file("--out", args.out)
    recon = load_reconstruction(args.checkpoint)
    mesh = recon.extract_mesh(args.resolution) if not args.no_color else None
    if mesh is None:
        from meshing.extract import MeshConfig, extract_mesh
        from meshing.grid import GridConfig

        mesh = extract_mesh(recon.sdf_fn, None, recon.to_world, MeshConfig(grid=GridConfig(resolution=args.resolution)))
    with atomic_path(args.out) as tmp:
        mesh.export(tmp, file_type=suffix[1:])
    return 0
