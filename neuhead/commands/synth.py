"""``neuhead synth --n 64 --views 32 --res 256 --rig portrait --format neus --out DIR``: synthetic heads."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="render synthetic multi-view heads (ICT-FaceKit) with exact ground truth",
                       description="Render random synthetic heads (ICT-FaceKit identities, procedural skin, eyes, "
                                   "lips, brows, hair; one randomised light) from a camera rig and write them as "
                                   "NeuS or H3DS scene folders with the ground-truth mesh (mm), landmarks, regions "
                                   "and a contact sheet (OUT/contact_sheet.png).")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--n", type=int, default=64, help="number of heads (default 64)")
    p.add_argument("--views", type=int, default=32, help="views per head (default 32)")
    p.add_argument("--res", type=int, default=256, help="image size in pixels (square, default 256)")
    p.add_argument("--rig", choices=["portrait", "360"], default="portrait",
                   help="portrait: phone in front, azimuth within ±45° at ~1.5 m; 360: all around (H3DS-like)")
    p.add_argument("--format", choices=["neus", "h3ds"], default="neus", help="scene folder layout")
    p.add_argument("--seed", type=int, default=0, help="base seed (scene i uses seed*1000000 + i)")
    p.add_argument("--lighting", choices=["train", "varied", "below"], default="train",
                   help="train: one directional light over a dim ambient (the shipped prior's data); varied: a third "
                        "of the heads so, a third softly lit, a third nearly flat; below: the train light moved "
                        "30-45 degrees under the head, a test look (default train)")
    p.add_argument("--no-hair", action="store_true", help="bald heads only")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    import logging

    from tqdm import tqdm

    from neuhead.commands import _checks as check
    from neuhead.data.synthetic.dataset import DatasetConfig, check_config, generate_dataset

    cfg = DatasetConfig(n_scenes=args.n, n_views=args.views, res=args.res, rig=args.rig, format=args.format,
                        seed=args.seed, hair=not args.no_hair, lighting=args.lighting, workers=args.workers)
    check_config(cfg)
    check.output_dir("--out", args.out)
    try:
        with tqdm(total=args.n, unit="head", disable=args.no_progress, desc="synth") as bar:
            summary = generate_dataset(args.out, cfg, on_scene=lambda sid: bar.update(1))
    except OSError as e:  # a few small files are written in place (scene meta, dataset.json)
        from neuhead.errors import WriteError, write_failure_reason

        raise WriteError(f"{e.filename or args.out}: cannot be written ({write_failure_reason(e)})") from e
    logging.getLogger("neuhead").info("%d heads in %s; contact sheet %s", len(summary.scene_ids), summary.root,
                                      summary.contact_sheet)
    return 0
