"""One photo -> textured GLB, end to end, with the shipped prior (the main job).

    python benchmarks/bench_photo.py [--photo assets/sample_photo.png] [--preset quick] [--repeats 3] [--device cpu]

Each repeat runs what ``neuhead fit PHOTO --out DIR`` runs (``load_input``: landmarks, PnP, mask, crop and the
photo placement; the landmark start; the two-stage fit; mesh.ply, head.glb, head.obj, previews, report) in a fresh
process (``ru_maxrss`` is per process) and prints the seconds of each part; the summary line is the median total.
Targets: <= 180 s on the 2-core CPU (quick), <= 30 s on a GPU, peak memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUN_ONE = r"""
import json, sys, time
t0 = time.perf_counter()
from neuhead.api import fit_config
from neuhead.data.load import load_input
from neuhead.pipeline import run_fit
from neuhead.prior import load_prior
scene = load_input(sys.argv[1])
t1 = time.perf_counter()
prior = load_prior()
recon = run_fit(scene, sys.argv[2], fit_config(sys.argv[3], prior.config.model, None, seed=int(sys.argv[4])),
                prior=prior.model, progress=False, device=sys.argv[5])
t = recon.report["timings_s"]
print(json.dumps({"load_s": t1 - t0, "total_s": time.perf_counter() - t0,
                  "stages_s": {name: t[name] for name in recon.report["stages"]}, "outputs_s": t["outputs"],
                  "peak_mb": recon.report["peak_memory_mb"], "landmark_start": "face_shape" in recon.report}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", default=str(Path(__file__).resolve().parent.parent / "assets" / "sample_photo.png"))
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.repeats < 1:
        raise SystemExit(f"--repeats {a.repeats}: must be >= 1")
    if not Path(a.photo).is_file():
        raise SystemExit(f"--photo {a.photo}: no such file")

    import torch

    print(f"device={a.device} threads={torch.get_num_threads()} preset={a.preset} photo={a.photo}")
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            out = subprocess.run([sys.executable, "-c", RUN_ONE, a.photo, str(Path(tmp) / f"out_{r}"), a.preset, str(r),
                                  a.device], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"run {r} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            x = json.loads(out.stdout.strip().splitlines()[-1])
            (Path(tmp) / f"out_{r}" / "head.glb").stat()  # the GLB was written
            totals.append(x["total_s"])
            stages = ", ".join(f"{name} {s:.1f}" for name, s in x["stages_s"].items())
            print(f"run {r}: load {x['load_s']:.1f} s, fit {sum(x['stages_s'].values()):.1f} s ({stages}), "
                  f"outputs {x['outputs_s']:.1f} s, total {x['total_s']:.1f} s, peak {x['peak_mb']:.0f} MB, "
                  f"{'landmark' if x['landmark_start'] else 'mean'} start", flush=True)
    print(f"median photo -> GLB: {statistics.median(totals):.1f} s over {len(totals)} runs")


if __name__ == "__main__":
    main()
