"""One photo -> textured GLB, end to end, with the shipped prior (the main job).

    python benchmarks/bench_photo.py [--photo assets/sample_photo.png] [--preset quick] [--repeats 3] [--device cpu]

Each repeat runs what ``neuhead fit PHOTO --out DIR`` runs (landmarks, PnP, mask, crop; two-stage fit;
mesh.ply, head.glb, head.obj, previews, report) in this process and prints the seconds of each part;
the summary line is the median total. Targets: <= 180 s on the 2-core CPU (quick), <= 30 s on a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", default=str(Path(__file__).resolve().parent.parent / "assets" / "sample_photo.png"))
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    import torch

    from neuhead.api import fit_config
    from neuhead.data.photo import load_photo
    from neuhead.pipeline import run_fit
    from neuhead.prior import load_prior

    print(f"device={a.device} threads={torch.get_num_threads()} preset={a.preset}")
    totals = []
    for r in range(a.repeats):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            photo = load_photo(a.photo)
            t1 = time.perf_counter()
            prior = load_prior()
            cfg = fit_config(a.preset, prior.config.model, None, seed=r)
            recon = run_fit(photo.scene, d, cfg, prior=prior.model, progress=False, device=a.device)
            t2 = time.perf_counter()
            assert (Path(d) / "head.glb").is_file()
            t = recon.report["timings_s"]
            totals.append(t2 - t0)
            stages = ", ".join(f"{name} {t[name]:.1f}" for name in recon.report["stages"])
            print(f"run {r}: photo {t1 - t0:.1f} s, fit {sum(t[name] for name in recon.report['stages']):.1f} s "
                  f"({stages}), outputs {t['outputs']:.1f} s, "
                  f"total {t2 - t0:.1f} s, peak {recon.report['peak_memory_mb']:.0f} MB")
    print(f"median photo -> GLB: {statistics.median(totals):.1f} s over {len(totals)} runs")


if __name__ == "__main__":
    main()
