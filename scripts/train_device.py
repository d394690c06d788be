"""Meta-learn a `--preset heads` prior on a torch device (a GPU), its geometry phase sized to a time budget.

    python scripts/train_device.py DATA --out RUN --export PRIOR [--device cuda] [--model 4x64|4x64s5|6x128]
        [--geometry-iters N | --budget-s S] [--max-geometry-iters 120000] [--geometry-workers 8]
        [--checkpoint-every 5000] [--seed 0] [--geometry-lr LR] [--render-iters 1000] [--render-lr LR] [--code-reg W] [--mean-anchor W] [--resume]

The same `meta_train` as `neuhead train DATA --preset heads` (one scene a step, lazy per-scene Adam, the geometry
phase then 1000 rendering steps), with what a lent GPU machine needs on top: the device, the network size
(`6x128`: SDF 6 × 128, skip at 3, 64 geometry features, radiance 3 × 128; `4x64` is the shipped network) trained at
its own rates (`GEOMETRY_LR`, `RENDER_LR`), the geometry samples of the heads made in parallel processes, and, with
``--budget-s``, the geometry-phase length chosen from a short probe run's step rate so that the whole training ends
inside S seconds. ``--resume`` continues from RUN's checkpoint (exact; a geometry-only run, ``--render-iters 0``,
continued with ``--render-iters N`` gets its rendering phase, at ``--render-lr`` if given). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neuhead.config import META_PRESETS  # noqa: E402

HEADS = META_PRESETS["heads"]
MODELS = {
    "4x64": HEADS.model,
    "6x128": replace(HEADS.model, sdf_hidden=128, sdf_layers=6, sdf_skip=(3,), feature_dim=64, rgb_hidden=128,
                     rgb_layers=3),
    # the shipped network with all five SDF linear layers scene-specific (model card, "more scene-specific layers")
    "4x64s5": replace(HEADS.model, sdf_scene_layers=5),
    # the shipped network whose radiance is an albedo under each scene's own SH lighting (ModelConfig.shading)
    "4x64sh": replace(HEADS.model, shading="sh"),
}
#: each network's peak geometry rate: at the preset's 3e-3 the 6x128 loses its first shared layer (0.04 of its units
#: alive on 12 training heads, none on 6 of them and on the mean scene; at 1e-3, 0.71 after 7500 steps:
#: scripts/dead_units.py, model card "Dead units")
GEOMETRY_LR = {"4x64": HEADS.geometry_lr, "4x64s5": HEADS.geometry_lr, "4x64sh": HEADS.geometry_lr, "6x128": 1e-3}
#: each network's rendering-phase rate: at the preset's 5e-4 (a sixth of the 4x64's geometry peak, half the 6x128's)
#: the 6x128's 1000 rendering steps moved its training heads' surface from 0.59 / 0.70 to 0.88 / 1.14 mm (face /
#: elsewhere, scripts/prior_surface_error.py); at 1.7e-4 (a sixth of its own peak) 0.65 / 0.77, its colour L1 0.0106
#: against 0.0126; its one-view fits came out level on six heads (model card, "The rendering phase's rate")
#: the 4x64s5 likewise: at 5e-4 its anchored 30 000-step prior went from 0.71 / 0.85 to 1.86 / 2.37 mm (model card,
#: "A mean head for the deep layout")
RENDER_LR = {"4x64": HEADS.lr, "4x64s5": 1.7e-4, "4x64sh": HEADS.lr, "6x128": 1.7e-4}


def rates(scenes, geometry, cfg, device: str, n_geo: int, n_render: int) -> tuple[float, float]:
    """Steps per second of the geometry and the rendering phase, from a throw-away run of n_geo + n_render steps."""
    import torch

    from neuhead.train.meta import meta_train

    marks: dict[int, float] = {}

    def mark(it, logs):
        if it in (1, n_geo, n_geo + 1, n_geo + n_render):
            if str(device).startswith("cuda"):
                torch.cuda.synchronize()
            marks[it] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        meta_train(scenes, replace(cfg, geometry_iters=n_geo, iters=n_render, checkpoint_every=10**9), tmp,
                   progress=False, device=device, callback=mark, geometry=geometry)
    return (n_geo - 1) / (marks[n_geo] - marks[1]), (n_render - 1) / (marks[n_geo + n_render] - marks[n_geo + 1])


def geometry_steps(seconds: float, geo_rate: float, render_rate: float, render_iters: int, most: int) -> int:
    """Geometry steps that fit in ``seconds`` beside ``render_iters`` rendering steps: whole thousands, at least
    1000, at most ``most``."""
    left = seconds - render_iters / render_rate
    return max(1000, min(most, int(left * geo_rate) // 1000 * 1000))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--export", type=Path, required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", choices=sorted(MODELS), default="6x128")
    ap.add_argument("--geometry-iters", type=int, default=None)
    ap.add_argument("--budget-s", type=float, default=None, help="the whole training (both phases) in S seconds")
    ap.add_argument("--max-geometry-iters", type=int, default=HEADS.geometry_iters)
    ap.add_argument("--geometry-workers", type=int, default=8)
    ap.add_argument("--checkpoint-every", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--render-iters", type=int, default=HEADS.iters,
                    help="rendering-phase steps after the geometry phase (0: geometry only, a probe)")
    ap.add_argument("--geometry-lr", type=float, default=None,
                    help="peak rate of the geometry phase (default: the network's own, GEOMETRY_LR)")
    ap.add_argument("--render-lr", type=float, default=None,
                    help="rate of the rendering phase (default: the network's own, RENDER_LR)")
    ap.add_argument("--code-reg", type=float, default=HEADS.geometry_loss.code_reg,
                    help="GeometryLossConfig.code_reg: pull each head's scene layers toward the mean scene's")
    ap.add_argument("--mean-anchor", type=float, default=HEADS.geometry_loss.mean_anchor,
                    help="GeometryLossConfig.mean_anchor: keep the mean scene's face on the base SDF")
    ap.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    a = ap.parse_args()
    if (a.geometry_iters is None) == (a.budget_s is None):
        raise SystemExit("give one of --geometry-iters and --budget-s")

    from neuhead.commands import _checks
    from neuhead.commands.train import find_scenes, load_geometry, load_scenes
    from neuhead.errors import InputError
    from neuhead.prior import save_prior
    from neuhead.train.meta import CHECKPOINT_NAME, LOG_NAME, meta_train

    try:  # every option before any work: one line and a non-zero exit
        device = _checks.device(a.device, "--device")
        _checks.at_least("--geometry-iters", a.geometry_iters, 1)
        _checks.at_least("--budget-s", a.budget_s, 1)
        _checks.at_least("--max-geometry-iters", a.max_geometry_iters, 1000)
        _checks.at_least("--geometry-workers", a.geometry_workers, 1)
        _checks.at_least("--checkpoint-every", a.checkpoint_every, 1)
        _checks.at_least("--render-iters", a.render_iters, 0)
        for option, value in (("--code-reg", a.code_reg), ("--mean-anchor", a.mean_anchor)):
            _checks.at_least(option, value, 0)
        for option, value in (("--geometry-lr", a.geometry_lr), ("--render-lr", a.render_lr)):
            if value is not None:
                _checks.positive(option, value)
        if a.resume and a.budget_s is not None:
            raise InputError("--resume: give --geometry-iters (the run's own), not --budget-s")
        if a.resume and not (a.out / CHECKPOINT_NAME).is_file():
            raise InputError(f"--resume: {a.out / CHECKPOINT_NAME} does not exist")
        _checks.output_dir("--out", a.out)
        _checks.output_dir("--export", a.export)
        dirs = find_scenes(a.data)
    except InputError as e:
        raise SystemExit(str(e)) from None
    t0 = time.perf_counter()
    scenes = load_scenes(dirs, None)
    geometry = load_geometry(dirs, scenes, a.geometry_workers)
    t_load = time.perf_counter() - t0
    cfg = replace(HEADS, model=MODELS[a.model], checkpoint_every=a.checkpoint_every, seed=a.seed,
                  iters=a.render_iters, geometry_lr=GEOMETRY_LR[a.model] if a.geometry_lr is None else a.geometry_lr,
                  lr=RENDER_LR[a.model] if a.render_lr is None else a.render_lr,
                  geometry_loss=replace(HEADS.geometry_loss, code_reg=a.code_reg, mean_anchor=a.mean_anchor))
    info = {"device": str(device), "model": a.model, "geometry_lr": cfg.geometry_lr, "render_lr": cfg.lr,
            "code_reg": a.code_reg, "mean_anchor": a.mean_anchor,
            "resumed": a.resume, "scenes": len(dirs),
            "load_s": round(t_load, 1)}
    if a.budget_s is not None:
        t1 = time.perf_counter()
        geo_rate, render_rate = rates(scenes, geometry, cfg, device, 300, 40)
        n_geo = geometry_steps(a.budget_s - (time.perf_counter() - t1), geo_rate, render_rate, cfg.iters,
                               a.max_geometry_iters)
        info.update(geometry_steps_per_s=round(geo_rate, 1), render_steps_per_s=round(render_rate, 1))
    else:
        n_geo = a.geometry_iters
    cfg = replace(cfg, geometry_iters=n_geo)
    t2 = time.perf_counter()
    result = meta_train(scenes, cfg, a.out, resume=a.resume, progress=False, device=device, geometry=geometry)
    info.update(geometry_iters=n_geo, train_s=round(time.perf_counter() - t2, 1),
                peak_memory_mb=round(result.peak_memory_mb))
    save_prior(result.model.cpu(), cfg, a.export, {"scenes": [d.name for d in dirs], "data": str(a.data), **info})
    tail = [json.loads(line) for line in (a.out / LOG_NAME).read_text().splitlines()[-40:]]
    geo_tail = [r["surface_mm"] for r in tail if "surface_mm" in r and not math.isnan(r["surface_mm"])]
    info["last_surface_mm"] = round(sum(geo_tail) / max(1, len(geo_tail)), 3)
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
