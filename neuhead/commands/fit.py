"""``neuhead fit SCENE_DIR --out OUT_DIR``: fit a head (or any object) and write mesh + assets + report."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("fit", help="fit a head to a photo or a multi-view scene and export it",
                       description="Fit an SDF + radiance field to one photo (.jpg/.png) or to a NeuS/IDR or "
                                   "H3DS scene folder and write mesh.ply, head.glb, head.obj, report.json, "
                                   "cameras.npz, preview PNGs and the checkpoint to OUT_DIR.")
    p.add_argument("input", type=Path, help="a photo, or a NeuS/IDR (cameras_sphere.npz) or H3DS (cameras.npz) scene folder")
    p.add_argument("--mask", type=Path, default=None, help="foreground mask for a single photo (white = head)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--views", type=_views, default=None, help="comma-separated view indices, e.g. 0,3,5")
    p.add_argument("--preset", choices=["quick", "paper"], default="quick", help="quick = CPU minutes; paper = published settings (GPU)")
    p.add_argument("--no-prior", action="store_true", help="fit from scratch (the NeuS baseline)")
    p.add_argument("--prior", type=Path, default=None, help="prior folder (default: the shipped prior)")
    p.add_argument("--iters", type=int, default=None, help="override the total iteration budget (quick with the prior: 600; for 2-3 views 3000 gives better faces, see README Quality)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.safetensors")
    p.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution of mesh.ply")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _views(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--views expects comma-separated integers, got {text!r}") from None


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run(args) -> int:
    from neuhead.api import fit_config
    from neuhead.errors import InputError
    from neuhead.data.load import load_input
    from neuhead.io import check_writable_dir
    from neuhead.pipeline import OutputOptions, run_fit
    from neuhead.prior import load_prior

    if not args.input.exists():
        raise InputError(f"{args.input}: no such file or folder")
    scene = load_input(args.input, views=args.views, mask=args.mask)
    prior = None if args.no_prior else load_prior(args.prior)
    check_writable_dir(args.out)
    cfg = fit_config(args.preset, None if prior is None else prior.config.model, args.iters, args.seed)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run"}
    run_fit(scene, args.out, cfg, prior=None if prior is None else prior.model, resume=args.resume,
            progress=not (args.no_progress or getattr(args, "quiet", False)),
            outputs=OutputOptions(mesh_resolution=args.resolution),
            device=resolve_device(args.device), settings=settings)
    return 0
