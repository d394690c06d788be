"""End-to-end fit time and peak memory of one- and three-view head scenes (the `neuhead fit FOLDER` path).

    python benchmarks/bench_fit_time.py [--views 1,3] [--repeats 3] [--seed 9000010] [--device cpu]
                                        [--prior DIR] [--iters N] [--resolution R] [--scenes DIR]
                                        [--denormals flush,keep]

One fresh synthetic head (train look, 256²) is written as NeuS folders with the frontal view, and with the
frontal and the ±40° views, under a ``scale_mat`` that is not the canonical frame. Each repeat runs what
``neuhead fit FOLDER --out DIR`` runs in a fresh process: load and place the scene from its images, the two-stage
fit with the shipped prior (or ``--prior``; quick preset, the default budget or ``--iters``), mesh.ply,
head.glb, head.obj, viewer, previews, report. Every repeat is its own process (`ru_maxrss` is per process).
``--scenes DIR`` keeps the two NeuS folders in DIR (``scene_1``, ``scene_3``) and reuses them when they are
there, so a machine without the synth extra (Open3D renders the head) can time the same fits.
``--denormals flush,keep`` times each view config twice: as shipped (denormal floats flushed to zero,
``neuhead.numerics.flush_denormals``, which a model calls when built) and with the CPU's denormal arithmetic kept,
and prints the ratio of the medians.
Targets: median one view <= 180 s, three views <= 300 s, peak memory <= 2 GB, on the 2-core CPU.
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
import json, resource, sys, time
t0 = time.perf_counter()
if sys.argv[8] == "keep":  # the reference: the model leaves the CPU's denormal arithmetic as it is
    import neuhead.model.multineus as multineus
    multineus.flush_denormals = lambda: None
from neuhead.api import fit_config
from neuhead.data.load import load_input
from neuhead.pipeline import OutputOptions, run_fit
from neuhead.prior import load_prior
scene = load_input(sys.argv[1])
prior = load_prior(sys.argv[5] or None)
iters = int(sys.argv[6]) if sys.argv[6] else None
outputs = OutputOptions(mesh_resolution=int(sys.argv[7])) if sys.argv[7] else OutputOptions()
recon = run_fit(scene, sys.argv[2], fit_config("quick", prior.config.model, iters, seed=int(sys.argv[3])),
                prior=prior.model, progress=False, device=sys.argv[4], outputs=outputs)
t = recon.report["timings_s"]
print(json.dumps({"total_s": time.perf_counter() - t0, "fit_s": sum(t[name] for name in recon.report["stages"]),
                  "outputs_s": t["outputs"], "peak_mb": recon.report["peak_memory_mb"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", default="1,3")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=9_000_010)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--prior", type=Path, default=None, help="prior folder (default: the shipped prior)")
    ap.add_argument("--iters", type=int, default=None, help="total fit iterations (default: the preset's budget)")
    ap.add_argument("--resolution", type=int, default=None,
                    help="marching-cubes resolution of the written meshes (default: neuhead fit's)")
    ap.add_argument("--scenes", type=Path, default=None,
                    help="folder for the scene folders (scene_1, scene_3): reused when there, else written there")
    ap.add_argument("--denormals", default="flush",
                    help="flush (as shipped), keep (the CPU's denormal arithmetic), or both: flush,keep")
    a = ap.parse_args()
    modes = a.denormals.split(",")
    if not modes or any(m not in ("flush", "keep") for m in modes) or len(set(modes)) != len(modes):
        raise SystemExit(f"--denormals {a.denormals}: give flush, keep or flush,keep")
    bad = [vc for vc in a.views.split(",") if vc not in ("1", "3")]
    if bad or a.repeats < 1:
        raise SystemExit(f"--views: unknown view config(s) {', '.join(bad)} (1, 3)" if bad else "--repeats: must be >= 1")
    if a.iters is not None and a.iters < 1:
        raise SystemExit(f"--iters {a.iters}: must be >= 1")
    from neuhead.commands import _checks
    from neuhead.errors import InputError

    try:
        _checks.resolution("--resolution", a.resolution)
    except InputError as e:
        raise SystemExit(str(e)) from None
    if a.prior is not None:
        from neuhead.prior import load_prior

        try:
            load_prior(a.prior)
        except Exception as e:  # checked before any head is rendered
            raise SystemExit(f"--prior: {e}") from None

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from bench_quality import foreign_frame, render_head

    from neuhead.data.h3ds import default_views_configs
    from neuhead.data.neus import write_neus

    tmp = Path(tempfile.mkdtemp(prefix="bench_fit_time_"))
    scenes_dir = a.scenes or tmp
    folders = {vc: scenes_dir / f"scene_{vc}" for vc in a.views.split(",")}
    if not all((f / "cameras_sphere.npz").is_file() for f in folders.values()):
        scene, _ = render_head(a.seed, "train", 24, 256, 512)
        configs = default_views_configs(scene)
        for vc, f in folders.items():
            if not (f / "cameras_sphere.npz").is_file():
                write_neus(foreign_frame(scene.subset(configs[vc])), f)
    print(f"device={a.device} threads={torch.get_num_threads()} head seed {a.seed} prior {a.prior or 'shipped'} "
          f"iters {a.iters or 'preset'} mesh resolution {a.resolution or 'neuhead fit default'}")
    for vc in a.views.split(","):
        folder = folders[vc]
        medians = {}
        for mode in modes:
            runs = []
            for r in range(a.repeats):
                out = subprocess.run([sys.executable, "-c", RUN_ONE, str(folder), str(tmp / f"out_{vc}_{mode}_{r}"), str(r),
                                      a.device, "" if a.prior is None else str(a.prior),
                                      "" if a.iters is None else str(a.iters),
                                      "" if a.resolution is None else str(a.resolution), mode],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"{vc} view(s), run {r}: the fit failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                x = runs[-1]
                print(f"{vc} view(s), denormals {mode}, run {r}: total {x['total_s']:.1f} s (fit {x['fit_s']:.1f}, "
                      f"outputs {x['outputs_s']:.1f}), peak {x['peak_mb']:.0f} MB", flush=True)
            medians[mode] = statistics.median(x["total_s"] for x in runs)
            print(f"{vc} view(s), denormals {mode}: median end to end {medians[mode]:.1f} s "
                  f"(fit {statistics.median(x['fit_s'] for x in runs):.1f} s), "
                  f"max peak {max(x['peak_mb'] for x in runs):.0f} MB over {len(runs)} runs")
        if len(medians) == 2:
            print(f"{vc} view(s): flushed / kept = {medians['flush'] / medians['keep']:.2f}")


if __name__ == "__main__":
    main()
