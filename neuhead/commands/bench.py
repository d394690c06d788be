"""``neuhead bench h3ds --root DIR --views 1|3 --out DIR``: the H3DS Table-1 benchmark (resumable)."""

from __future__ import annotations

from pathlib import Path

from meshing.extract import EVAL_RESOLUTION


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark (H3DS: fit every scene, score, write Table 1)",
                       description="Benchmarks. 'h3ds' fits every scene of an H3DS-format root (real H3DS "
                                   "or synthetic), scores it with the H3DS protocol (mm) and writes "
                                   "results.md/.csv/.json/.png to --out. Rerunning skips finished jobs.")
    bsub = p.add_subparsers(dest="benchmark", required=True)
    h = bsub.add_parser("h3ds", help="H3DS face / full-head distances, layout of the paper's Table 1")
    h.add_argument("--root", type=Path, required=True, help="H3DS-format root (config.toml + one folder per scene)")
    h.add_argument("--views", type=int, choices=[1, 3], default=1,
                   help="1: frontal, left, right fitted separately (as in the paper); 3: the three together")
    h.add_argument("--preset", choices=["quick", "paper"], default="quick", help="fitting preset")
    h.add_argument("--scenes", nargs="+", default=None, help="scene ids to run (default: all)")
    h.add_argument("--out", type=Path, required=True, help="output folder (reused to resume)")
    h.add_argument("--heatmaps", action="store_true", help="write an error heatmap PNG per job")
    h.add_argument("--face-radius", type=float, default=95.0,
                   help="face_sphere radius (mm) when a scene lacks regions/face_sphere.txt")
    h.add_argument("--resolution", type=int, default=EVAL_RESOLUTION, help="marching-cubes resolution of the fitted meshes")
    h.add_argument("--iters", type=int, default=None, help="override the fitting budget (smoke runs)")
    h.add_argument("--seed", type=int, default=0, help="fitting seed")
    h.add_argument("--device", default="cpu", help="torch device of the fits (cpu, cuda)")
    pr = h.add_mutually_exclusive_group()
    pr.add_argument("--prior", default="default", help="prior folder (default: the shipped prior)")
    pr.add_argument("--no-prior", action="store_true", help="fit from scratch (the NeuS baseline)")
    p.set_defaults(run=run)


def check_options(args) -> str:
    """Every option checked (and the prior loaded once) before any scene is fitted; returns the device."""
    from neuhead.commands import _checks as check
    from neuhead.errors import InputError

    check.resolution("--resolution", args.resolution)
    check.at_least("--iters", args.iters, 1, " (fitting iterations per job)")
    check.positive("--face-radius", args.face_radius, " (mm)")
    dev = check.device(args.device)
    if not args.root.is_dir():
        raise InputError(f"--root {args.root}: no such folder")
    if args.scenes is not None and len(set(args.scenes)) != len(args.scenes):
        raise InputError(f"--scenes {' '.join(args.scenes)}: a scene is listed twice")
    check.output_dir("--out", args.out)
    if not args.no_prior:
        from neuhead.prior import load_prior

        try:
            load_prior(None if args.prior == "default" else args.prior)
        except InputError as e:
            raise InputError(f"--prior: {e}") from None
    from neuhead.bench import read_h3ds_config

    read_h3ds_config(args.root)  # a root without scenes is refused before --out is created
    return dev


def run(args) -> int:
    from neuhead.bench import BenchConfig, run_h3ds_bench

    device = check_options(args)

    cfg = BenchConfig(views=args.views, preset=args.preset, scenes=tuple(args.scenes) if args.scenes else None,
                      heatmaps=args.heatmaps, face_radius=args.face_radius, mesh_resolution=args.resolution,
                      iters=args.iters, seed=args.seed, device=device,
                      prior=None if args.no_prior else str(args.prior),
                      frame="file" if args.no_prior else "auto")
    table = run_h3ds_bench(args.root, args.out, cfg)
    print(table.to_markdown())
    print(f"written: {args.out / 'results.md'}, results.csv, results.json, results.png")
    failed = [j for j in table.jobs if j.error]
    return 1 if failed else 0
