"""Time ``neuhead synth`` end to end (render + write + contact sheet).

    python benchmarks/bench_synth.py --n 64 --views 32 --res 256 --rig portrait --format neus --workers 1

Prints wall time, views per second and the output size. The acceptance target is 64 x 32 x 256²
in <= 10 minutes on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from neuhead.data.synthetic.dataset import DatasetConfig, generate_dataset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--views", type=int, default=32)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--rig", default="portrait")
    ap.add_argument("--format", default="neus")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the output here (default: a temp folder, removed)")
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    cfg = DatasetConfig(n_scenes=a.n, n_views=a.views, res=a.res, rig=a.rig, format=a.format, workers=a.workers)
    t0 = time.perf_counter()
    generate_dataset(out, cfg)
    dt = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(json.dumps({"scenes": a.n, "views": a.views, "res": a.res, "rig": a.rig, "format": a.format,
                      "workers": a.workers, "seconds": round(dt, 1), "views_per_s": round(a.n * a.views / dt, 2),
                      "output_mb": round(size / 2**20, 1)}))
    if a.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
