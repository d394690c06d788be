"""Timing of the evaluation code on H3DS-sized inputs (not part of the test suite).

    python benchmarks/bench_eval.py [--pred-subdiv 2] [--gt-subdiv 1]

Ground truth: the ICT-FaceKit neutral skin in mm, subdivided (a stand-in for a ~100k-vertex scan);
prediction: the same surface, subdivided further (a dense marching-cubes mesh has ~10^5-10^6
vertices), smoothly deformed and moved by a similarity. Prints seconds per step and the scores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

ICT = "/work/shared/data/ict_facekit/ict_facekit.npz"


def head(subdiv: int):
    import trimesh

    d = np.load(ICT)
    v = d["neutral_vertices"][:11248].astype(np.float64) * 10.0
    f = d["faces"].astype(np.int64)
    f = f[(f < 11248).all(1)]
    nose = v[int(d["landmarks_multipie68"][30])]
    for _ in range(subdiv):
        v, f = trimesh.remesh.subdivide(v, f)
    return v, f, nose


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gt-subdiv", type=int, default=1)
    ap.add_argument("--pred-subdiv", type=int, default=2)
    ap.add_argument("--samples", type=int, default=100_000)
    args = ap.parse_args()

    from eval.align import Similarity
    from eval.chamfer import EvalConfig, evaluate_h3ds, evaluate_surface
    from eval.meshio import MeshData

    gv, gf, nose = head(args.gt_subdiv)
    pv, pf, _ = head(args.pred_subdiv)
    c, s = np.cos(np.deg2rad(2)), np.sin(np.deg2rad(2))
    T = Similarity(1.02, np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]), np.array([2.0, -1.0, 3.0]))
    pv = T.apply(pv + 0.5 * np.sin(pv / 8.0))
    gt, pred = MeshData(gv, gf, "gt"), MeshData(pv, pf, "pred")
    print(f"gt {len(gv)} vertices / {len(gf)} faces; pred {len(pv)} vertices / {len(pf)} faces")

    t = time.perf_counter()
    ev = evaluate_h3ds(pred, gt, nose_tip=nose)
    dt = time.perf_counter() - t
    print(f"h3ds protocol (2 ICPs + distances): {dt:.2f} s   head {ev.head.mean:.4f} mm, "
          f"face_sphere {ev.face_sphere.mean:.4f} mm, ICP scale {ev.head.alignment.scale:.4f}")
    t = time.perf_counter()
    sv = evaluate_surface(pred, gt, nose_tip=nose, config=EvalConfig(n_samples=args.samples))
    dt = time.perf_counter() - t
    print(f"surface protocol ({args.samples} samples): {dt:.2f} s   head chamfer {sv.head.chamfer.chamfer:.4f} mm, "
          f"F@1mm {sv.head.chamfer.fscore:.4f}; face_sphere chamfer {sv.face_sphere.chamfer.chamfer:.4f} mm")


if __name__ == "__main__":
    main()
