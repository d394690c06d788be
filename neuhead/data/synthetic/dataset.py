"""Write a synthetic data set: many heads in NeuS or H3DS folders, plus a contact sheet.

Scene ``i`` of a run with ``seed`` uses ``seed * 1_000_000 + i``, so scenes are reproducible one by
one and independent of ``n`` and of the number of worker processes. Each scene folder is written
under a hidden temporary name and renamed into place when complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from neuhead.errors import InputError
from neuhead.io import atomic_path, check_writable_dir, write_png

log = logging.getLogger(__name__)

FORMATS = ("neus", "h3ds")


@dataclass(frozen=True)
class DatasetConfig:
    """What ``generate_dataset`` makes."""

    n_scenes: int = 64
    """number of heads"""
    n_views: int = 32
    """views per head"""
    res: int = 256
    """image width = height in pixels"""
    rig: str = "portrait"
    """camera rig: portrait | 360"""
    format: str = "neus"
    """neus (image/, mask/, cameras_sphere.npz) or h3ds (the H3DS layout + config.toml)"""
    seed: int = 0
    """base seed; scene i uses seed * 1_000_000 + i"""
    hair: bool = True
    """give (most) heads a hair volume"""
    lighting: str = "train"
    """the light's distribution (``appearance.LIGHTINGS``): "train", "varied" or "below" (a test look)"""
    workers: int = 1
    """worker processes (scenes are rendered in parallel)"""
    thumb: int = 128
    """contact-sheet thumbnail size in pixels"""


@dataclass
class DatasetSummary:
    """What was written: scene ids (folder names), their seeds and the contact sheet."""

    root: Path
    scene_ids: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    contact_sheet: Path | None = None


def scene_seed(seed: int, i: int) -> int:
    return int(seed) * 1_000_000 + int(i)


def check_config(cfg: DatasetConfig) -> None:
    """InputError naming the bad option."""
    from neuhead.data.synthetic.appearance import LIGHTINGS
    from neuhead.data.synthetic.rigs import RIGS

    if cfg.n_scenes < 1 or cfg.n_views < 1:
        raise InputError(f"need at least one scene and one view (got --n {cfg.n_scenes}, --views {cfg.n_views})")
    if not 16 <= cfg.res <= 4096:
        raise InputError(f"--res {cfg.res}: must be between 16 and 4096")
    if cfg.rig not in RIGS:
        raise InputError(f"--rig {cfg.rig}: unknown rig (choose from {', '.join(RIGS)})")
    if cfg.format not in FORMATS:
        raise InputError(f"--format {cfg.format}: unknown format (choose from {', '.join(FORMATS)})")
    if cfg.lighting not in LIGHTINGS:
        raise InputError(f"--lighting {cfg.lighting}: unknown lighting (choose from {', '.join(LIGHTINGS)})")
    if cfg.workers < 1:
        raise InputError(f"--workers {cfg.workers}: must be >= 1")


def _write_one(args) -> tuple[str, int, object, np.ndarray]:
    """Synthesize and write scene ``i``; returns (id, seed, h3ds info or None, thumbnail)."""
    root, i, cfg = args
    from neuhead.data.h3ds import write_h3ds_scene, write_obj
    from neuhead.data.neus import write_neus
    from neuhead.data.synthetic.scene import SynthConfig, synthesize

    sid = f"head_{i:04d}"
    seed = scene_seed(cfg.seed, i)
    s = synthesize(seed, cfg.n_views, cfg.res, cfg.rig, cfg.hair, config=SynthConfig(lighting=cfg.lighting))
    final = Path(root) / sid
    tmp = Path(root) / f".{sid}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    gt = s.gt.scan()  # the ground truth a scanner gives: no hidden inner faces (HeadGroundTruth.scan)
    info = None
    if cfg.format == "h3ds":
        info = write_h3ds_scene(root, tmp.name, s.scene, gt.vertices, gt.faces, gt.landmark_ids, gt.regions)
        info = replace(info, scene_id=sid)
    else:
        write_neus(s.scene, tmp)
        write_obj(tmp / "full_head.obj", gt.vertices, gt.faces)
    meta = {
        "seed": seed, "units": "mm", "rig": cfg.rig,
        "landmark_ids": gt.landmark_ids,
        "landmarks_mm": {k: v.tolist() for k, v in gt.landmarks.items()},
        "to_canonical": gt.to_canonical.tolist(),
        "regions": {k: v.tolist() for k, v in gt.regions.items()},
        "hair": gt.info.get("hair"),
        "note": "synthetic head from ICT-FaceKit (MIT licence, see assets/ict/LICENSE)",
    }
    with atomic_path(tmp / "ground_truth.json") as p:
        p.write_text(json.dumps(meta))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    thumb = _thumbnail(s.scene.images[0], cfg.thumb)
    return sid, seed, info, thumb


def _thumbnail(img: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.asarray(Image.fromarray(a).resize((size, size), Image.BILINEAR))


def contact_sheet(thumbs: list[np.ndarray], columns: int = 8) -> np.ndarray:
    """Grid of equally sized (s, s, 3) uint8 thumbnails, row-major, black padding."""
    s = thumbs[0].shape[0]
    rows = -(-len(thumbs) // columns)
    sheet = np.zeros((rows * s, min(columns, len(thumbs)) * s, 3), np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, columns)
        sheet[r * s:(r + 1) * s, c * s:(c + 1) * s] = t
    return sheet


def generate_dataset(out: str | Path, cfg: DatasetConfig = DatasetConfig(),
                     on_scene: Callable[[str], None] | None = None) -> DatasetSummary:
    """Write ``cfg.n_scenes`` synthetic heads under ``out`` and ``out/contact_sheet.png``.

    NeuS format: ``head_%04d/{image,mask,cameras_sphere.npz}`` (canonical unit sphere) plus
    ``full_head.obj`` and ``ground_truth.json`` (mm; the scan surface, ``HeadGroundTruth.scan``). H3DS format: the H3DS layout and
    ``config.toml`` (1 view = frontal, 3 = frontal/left/right). ``on_scene(id)`` is called as each
    scene is finished (a progress bar).
    """
    check_config(cfg)
    root = check_writable_dir(out)
    from neuhead.data.synthetic.head import load_head_model

    load_head_model()  # fail early if the asset is missing
    jobs = [(str(root), i, cfg) for i in range(cfg.n_scenes)]
    results = []
    if cfg.workers == 1:
        for job in jobs:
            results.append(_write_one(job))
            if on_scene:
                on_scene(results[-1][0])
    else:
        with ProcessPoolExecutor(max_workers=cfg.workers) as ex:
            for r in ex.map(_write_one, jobs):
                results.append(r)
                if on_scene:
                    on_scene(r[0])
    summary = DatasetSummary(root, [r[0] for r in results], [r[1] for r in results])
    if cfg.format == "h3ds":
        from neuhead.data.h3ds import write_h3ds_config

        write_h3ds_config(root, [r[2] for r in results])
    summary.contact_sheet = root / "contact_sheet.png"
    write_png(summary.contact_sheet, contact_sheet([r[3] for r in results]))
    with atomic_path(root / "synth.json") as p:
        p.write_text(json.dumps({"config": cfg.__dict__, "scenes": dict(zip(summary.scene_ids, summary.seeds)),
                                 "licence": "derived from ICT-FaceKit (MIT), see assets/ict/LICENSE"}, indent=1))
    log.debug("wrote %d scenes to %s", len(results), root)
    return summary
