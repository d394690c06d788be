"""``neuhead train DATA_DIR --out RUN_DIR``: meta-learn a prior over the NeuS scenes in DATA_DIR."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="meta-learn a Multi-NeuS prior over many scenes",
                       description="Meta-learn a prior on every NeuS scene folder under DATA_DIR "
                                   "(e.g. the output of `neuhead synth --format neus`).")
    p.add_argument("data", type=Path, help="folder of NeuS scene folders")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, loss log, plot)")
    p.add_argument("--preset", choices=["quick", "paper", "heads"], default="quick",
                   help="quick: RGB-only on a CPU; heads: 3D-supervised geometry phase + rendering phase "
                        "(synthetic heads from `neuhead synth`); paper: the published RGB-only settings")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR's checkpoint")
    p.add_argument("--workers", type=int, default=1, help="local processes (torch.distributed, gloo)")
    p.add_argument("--iters", type=int, default=None, help="override the iteration budget (rendering phase)")
    p.add_argument("--geometry-iters", type=int, default=None,
                   help="override the geometry-phase iterations (0 = RGB only; needs `neuhead synth` folders)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N scenes")
    p.add_argument("--views", type=int, default=None, help="use only the first N views of each scene")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", type=Path, default=None, help="write the trained prior (weights, config) here")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def find_scenes(data: Path) -> list[Path]:
    from neuhead.errors import InputError

    if not data.is_dir():
        raise InputError(f"{data}: not a folder")
    dirs = sorted(p for p in data.iterdir() if (p / "cameras_sphere.npz").is_file())
    if not dirs:
        raise InputError(f"{data}: no NeuS scene folders (sub-folders with cameras_sphere.npz)")
    return dirs


def load_scenes(dirs: list[Path], views: int | None):
    from neuhead.data.neus import load_neus

    return [load_neus(d, views=None if views is None else range(views)) for d in dirs]


def _scene_geometry(job):
    from neuhead.data.synthetic.geometry import scene_dir_geometry

    return scene_dir_geometry(*job)


def load_geometry(dirs: list[Path], scenes, workers: int = 1) -> list:
    """Exact geometry samples of each synthetic scene folder (regenerated from its seed, ~0.2 s a head), in
    ``workers`` spawned processes when more than one."""
    jobs = [(d, s.to_world) for d, s in zip(dirs, scenes)]
    if workers <= 1:
        return [_scene_geometry(j) for j in jobs]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(_scene_geometry, jobs)


def _train_worker(args, cfg, scene_dirs):
    from neuhead.train.meta import meta_train

    scenes = load_scenes(scene_dirs, args.views)
    geometry = load_geometry(scene_dirs, scenes) if cfg.geometry_iters > 0 else None
    meta_train(scenes, cfg, args.out, resume=args.resume, progress=not args.no_progress, geometry=geometry)


def check_options(args) -> list[Path]:
    """Every option checked before anything is loaded or written; returns the scene folders to use."""
    from neuhead.commands import _checks as check
    from neuhead.errors import InputError

    check.at_least("--limit", args.limit, 1, " (number of scenes)")
    check.at_least("--iters", args.iters, 1, " (meta-learning iterations)")
    check.at_least("--views", args.views, 1, " (views per scene)")
    check.at_least("--workers", args.workers, 1)
    check.at_least("--geometry-iters", getattr(args, "geometry_iters", None), 0, " (0 = RGB only)")
    dirs = find_scenes(args.data)[: args.limit]
    check.output_dir("--out", args.out)
    check.output_dir("--export", args.export)
    if args.export is not None and Path(args.export).resolve() == Path(args.out).resolve():
        raise InputError(f"--export {args.export}: the same folder as --out; the prior needs its own folder")
    if args.resume and not (Path(args.out) / "meta.safetensors").is_file():
        raise InputError(f"--resume: {Path(args.out) / 'meta.safetensors'}: no checkpoint to resume from")
    return dirs


def run(args) -> int:
    from neuhead.config import META_PRESETS
    from neuhead.io import check_writable_dir
    from neuhead.train.distributed import init_from_env, spawn
    from neuhead.train.meta import meta_train

    dirs = check_options(args)
    cfg = replace(META_PRESETS[args.preset], seed=args.seed)
    if args.iters is not None:
        cfg = replace(cfg, iters=args.iters)
    if args.geometry_iters is not None:
        cfg = replace(cfg, geometry_iters=args.geometry_iters)
    if args.workers > 1:
        check_writable_dir(args.out)
        spawn(_train_worker, (args, cfg, dirs), workers=args.workers)
        result_model = None
    else:
        init_from_env()  # under torchrun: join the group
        scenes = load_scenes(dirs, args.views)  # bad scene files are refused before the run folder exists
        geometry = load_geometry(dirs, scenes) if cfg.geometry_iters > 0 else None
        check_writable_dir(args.out)
        try:
            result_model = meta_train(scenes, cfg, args.out, resume=args.resume, progress=not args.no_progress,
                                      geometry=geometry).model
        except OSError as e:  # the loss log is appended in place; checkpoints raise WriteError themselves
            from neuhead.errors import WriteError, write_failure_reason

            raise WriteError(f"{e.filename or args.out}: cannot be written ({write_failure_reason(e)})") from e
    import torch.distributed as dist

    if args.export is not None and (not dist.is_initialized() or dist.get_rank() == 0):
        from neuhead.prior import model_from_meta_checkpoint, save_prior

        model = result_model or model_from_meta_checkpoint(args.out / "meta.safetensors")[0]
        save_prior(model, cfg, args.export, {"scenes": [d.name for d in dirs], "data": str(args.data)})
    return 0
