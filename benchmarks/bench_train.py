"""Training-step throughput (rays/s) of the from-scratch fit at the paper architecture and the quick preset,
and one meta-learning step of each preset, on the bundled sample scene.

    python benchmarks/bench_train.py [--repeats 5] [--steps 3] [--device cpu|cuda] [--threads 2]

Prints the median seconds per step and rays/s over ``repeats`` timed runs of ``steps`` steps each
(after one warm-up step), and the paper/quick ratio measured in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from neuhead.config import SCRATCH_PRESETS, StageConfig
from neuhead.data.analytic import make_sample_scene
from neuhead.train.fit import run_stages


def time_steps(scene, cfg, steps: int, repeats: int, device: str) -> list[float]:
    """Seconds per training step, one figure per repeat (each a fresh fit of warm-up + ``steps`` steps)."""
    out = []
    for r in range(repeats):
        marks = []
        stage = StageConfig(name="bench", iters=steps + 1, lr=cfg.stages[0].lr, warmup=1, cos_anneal_end=0)
        c = replace(cfg, stages=(stage,), seed=r)

        def cb(stage, it, logs):
            if device == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

        run_stages(scene, c, progress=False, device=device, callback=cb)
        out.append((marks[-1] - marks[0]) / steps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    scene = make_sample_scene()
    print(f"device={a.device} threads={torch.get_num_threads()} torch={torch.__version__}")
    results = {}
    for name in ("quick", "paper"):
        cfg = SCRATCH_PRESETS[name]
        secs = time_steps(scene, cfg, a.steps if name == "paper" or a.device == "cuda" else a.steps * 10, a.repeats, a.device)
        med = statistics.median(secs)
        results[name] = med
        samples = cfg.render.n_samples + cfg.render.n_importance
        print(f"{name:6s} arch {cfg.model.sdf_layers}x{cfg.model.sdf_hidden} PE{cfg.model.pe_freqs}, "
              f"{cfg.batch_rays} rays x {samples} samples: median {med:.3f} s/step "
              f"({cfg.batch_rays / med:.0f} rays/s; runs: {', '.join(f'{s:.3f}' for s in secs)})")
    print(f"paper/quick seconds-per-step ratio: {results['paper'] / results['quick']:.1f}x")


if __name__ == "__main__":
    main()
