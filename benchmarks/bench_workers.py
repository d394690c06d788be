"""Meta-learning throughput on 1 vs 2 local gloo workers (one torch thread each), same data and preset.

    python benchmarks/bench_workers.py DATA_DIR [--iters 150] [--limit 4] [--views 6]

Prints iterations/s and scene-steps/s (each worker takes its own scene per iteration) for each setting;
scene loading is outside the timed loop (MetaResult.steps_per_second).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path


def _worker(scene_dirs, views, cfg, out, result_file):
    import torch.distributed as dist

    from neuhead.commands.train import load_scenes
    from neuhead.train.meta import meta_train

    res = meta_train(load_scenes(scene_dirs, views), cfg, out, progress=False)
    if dist.get_rank() == 0:
        Path(result_file).write_text(json.dumps({"steps_per_second": res.steps_per_second}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--iters", type=int, default=150)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--views", type=int, default=6)
    a = ap.parse_args()

    import torch

    from neuhead.commands.train import find_scenes, load_scenes
    from neuhead.config import META_PRESETS
    from neuhead.train.distributed import spawn
    from neuhead.train.meta import meta_train

    torch.set_num_threads(1)
    dirs = find_scenes(a.data)[: a.limit]
    cfg = replace(META_PRESETS["quick"], iters=a.iters, checkpoint_every=10 * a.iters)
    with tempfile.TemporaryDirectory() as d:
        one = meta_train(load_scenes(dirs, a.views), cfg, Path(d) / "w1", progress=False).steps_per_second
        spawn(_worker, (dirs, a.views, cfg, str(Path(d) / "w2"), str(Path(d) / "r.json")), workers=2, threads_per_worker=1)
        two = json.loads((Path(d) / "r.json").read_text())["steps_per_second"]
    print(f"1 worker : {one:.2f} it/s = {one:.2f} scene-steps/s")
    print(f"2 workers: {two:.2f} it/s = {2 * two:.2f} scene-steps/s  (speed-up {2 * two / one:.2f}x in scene-steps)")


if __name__ == "__main__":
    main()
