"""``neuhead fit SCENE_DIR --out OUT_DIR``: fit a head (or any object) and write mesh + assets + report."""

from __future__ import annotations

import argparse
from pathlib import Path

from meshing.extract import OUTPUT_RESOLUTION


def add_parser(sub) -> None:
    p = sub.add_parser("fit", help="fit a head to a photo or a multi-view scene and export it",
                       description="Fit an SDF + radiance field to one photo (.jpg/.png) or to a NeuS/IDR or "
                                   "H3DS scene folder and write mesh.ply, head.glb, head.obj, report.json, "
                                   "cameras.npz, preview PNGs and the checkpoint to OUT_DIR.")
    p.add_argument("input", type=Path, help="a photo, or a NeuS/IDR (cameras_sphere.npz) or H3DS (cameras.npz) scene folder")
    p.add_argument("--mask", type=Path, default=None, help="foreground mask for a single photo (white = head)")
    p.add_argument("--fov", type=float, default=None, metavar="DEG",
                   help="a single photo's vertical field of view in degrees (default: from its EXIF focal length, "
                        "else the one that puts the camera 1 m from the head; a phone's 26 mm-equivalent main camera held "
                        "upright: about 67)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--views", type=_views, default=None, help="comma-separated view indices, e.g. 0,3,5")
    p.add_argument("--preset", choices=["quick", "paper"], default="quick", help="quick = CPU minutes; paper = published settings (GPU)")
    p.add_argument("--no-prior", action="store_true", help="fit from scratch (the NeuS baseline)")
    p.add_argument("--prior", type=Path, default=None, help="prior folder (default: the shipped prior)")
    p.add_argument("--iters", type=int, default=None,
                   help="override the total iteration budget, for any number of views (quick with the prior: "
                        "300 + 300, one view 150 + 150; with one view stage 2 moves only the new scene)")
    p.add_argument("--frame", choices=["auto", "file"], default=None,
                   help="auto: place the head in the prior's canonical frame from the images (default with a prior); "
                        "file: the file's own scale_mat frame (default with --no-prior; for non-head objects)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.safetensors")
    p.add_argument("--resolution", type=int, default=OUTPUT_RESOLUTION, help="marching-cubes resolution of mesh.ply")
    p.add_argument("--texture-source", choices=("photo", "field"), default="photo",
                   help="texture of head.glb/head.obj: photo = the input photos projected where they see the head, "
                        "the field elsewhere; field = the radiance field alone")
    p.add_argument("--world-units", choices=("mm", "cm", "m"), default=None,
                   help="units of the input's world frame when the input does not say (NeuS folders); default: "
                        "guessed from the head's size, noted in report.json")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _views(text: str) -> list[int]:
    try:
        views = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--views expects comma-separated integers, got {text!r}") from None
    if not views:
        raise argparse.ArgumentTypeError(f"--views {text!r}: no view index given (e.g. --views 0,3,5)")
    if min(views) < 0:
        raise argparse.ArgumentTypeError(f"--views {text!r}: view indices start at 0")
    repeated = sorted({v for v in views if views.count(v) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"--views {text!r}: view(s) {repeated} given twice")
    return views


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when available, else cpu; InputError for a device that does not exist."""
    from neuhead.commands._checks import device

    return device(name)


def check_options(args) -> str:
    """Every option checked before anything is read, fitted or written; returns the device."""
    from neuhead.commands import _checks as check
    from neuhead.data.pose import check_fov_y_deg
    from neuhead.errors import InputError

    check.resolution("--resolution", args.resolution)
    check.at_least("--iters", args.iters, 1, " (total fitting iterations)")
    dev = check.device(args.device)
    check.existing("", args.input)
    if args.prior is not None and args.no_prior:
        raise InputError(f"--prior {args.prior} and --no-prior: choose one")
    if args.input.is_file():
        if args.views is not None:
            raise InputError(f"--views: {args.input} is a single photo (one view); --views selects views of a "
                             "scene folder")
        check_fov_y_deg(args.fov)
    elif args.fov is not None:
        raise InputError(f"--fov {args.fov}: only a single photo takes --fov; the scene folder {args.input} "
                         "has its own cameras")
    elif args.mask is not None:
        raise InputError(f"--mask {args.mask}: only a single photo takes --mask; the scene folder {args.input} "
                         "has its own mask/ folder")
    if args.mask is not None and not args.mask.is_file():
        raise InputError(f"--mask {args.mask}: no such file")
    check.output_dir("--out", args.out)
    if args.resume and not (args.out / "checkpoint.safetensors").is_file():
        raise InputError(f"--resume: {args.out / 'checkpoint.safetensors'}: no checkpoint to resume from")
    return dev


def run(args) -> int:
    from neuhead.api import fit_config
    from neuhead.data.load import load_input
    from neuhead.io import check_writable_dir
    from neuhead.pipeline import OutputOptions, run_fit
    from neuhead.prior import load_prior

    device = check_options(args)
    prior = None if args.no_prior else load_prior(args.prior)
    frame = args.frame or ("file" if args.no_prior else "auto")
    scene = load_input(args.input, views=args.views, mask=args.mask, frame=frame, fov_y_deg=args.fov)
    check_writable_dir(args.out)
    cfg = fit_config(args.preset, None if prior is None else prior.config.model, args.iters, args.seed)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "run"}
    run_fit(scene, args.out, cfg, prior=None if prior is None else prior.model, resume=args.resume,
            progress=not (args.no_progress or getattr(args, "quiet", False)),
            outputs=OutputOptions(mesh_resolution=args.resolution, texture_source=args.texture_source,
                                  world_units=args.world_units),
            device=device, settings=settings)
    return 0
