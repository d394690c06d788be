"""How much one frontal view can say about a head drawn from the ICT model (a bound that reads the ground truth).

    python scripts/frontal_landmark_bound.py [--seeds 9000000:9000006] [--noise 0.1,1,2,3]

For each head (odd seeds bald, as ``bench_quality.py --bald-half``), the Gaussian conditional mean of its 60 identity
and 24 expression weights given the frontal (orthographic, along the model's +z) 2D positions of the model's 68
landmark vertices with i.i.d. noise of each ``--noise`` mm (a 2D translation and scale left free), and given the
dense frontal 2D positions of every forward-facing face vertex; the resulting ICT heads (bald) are scored by the
H3DS protocol (``bench_quality.evaluate``) against the head's scan surface. Prints face / head mm per head and the
medians. The learned reader (``neuhead.data.face_regressor``) aims at the landmark rows. Not a method: it knows the
true 2D positions, the pose and the model the head came from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="9000000:9000006", help="first:last (exclusive)")
    ap.add_argument("--noise", default="0.1,1,2,3", help="landmark noise levels, mm")
    a = ap.parse_args()
    try:
        lo, hi = (int(v) for v in a.seeds.split(":"))
        noise = [float(v) for v in a.noise.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds / --noise: expected first:last and a comma list of mm, got {a.seeds!r}, {a.noise!r}")
    if hi <= lo or min(noise) <= 0:
        raise SystemExit(f"--seeds / --noise: need first < last and noise > 0 mm, got {a.seeds!r}, {a.noise!r}")

    import trimesh
    from bench_quality import evaluate
    from neuhead.data.synthetic.head import HeadConfig, load_head_model, sample_head, vertex_normals
    from neuhead.data.synthetic.scene import ground_truth

    model, cfg = load_head_model(), HeadConfig()
    k = min(cfg.n_modes, model.n_modes)
    B = np.concatenate([model.identity[:k], model.expression], 0).astype(np.float64)
    e = len(model.expression)
    sigma_e = np.sqrt(cfg.expression_prob * cfg.n_expressions / e * cfg.expression_max ** 2 / 3)  # matched moments
    prior = np.r_[np.full(k, cfg.identity_sigma ** 2), np.full(e, sigma_e ** 2)]
    tip = model.neutral[model.landmark_ids()["nose_tip"]]
    front = np.flatnonzero((np.linalg.norm(model.neutral - tip, axis=1) < 110)
                           & (vertex_normals(model.neutral, model.faces)[:, 2] > 0.2) & (model.labels == 0))

    def conditional_mean(ids, truth, sd):
        A = B[:, ids, :2].reshape(len(B), -1).T
        mu = model.neutral[ids, :2]
        nuisance = np.stack([np.tile([1.0, 0.0], len(ids)), np.tile([0.0, 1.0], len(ids)), (mu - mu.mean(0)).ravel()], 1)
        M = np.c_[A, nuisance]
        H = M.T @ M / sd ** 2 + np.diag(np.r_[1 / prior, np.full(3, 1e-8)])
        return np.linalg.solve(H, M.T @ (truth[ids, :2] - mu).ravel() / sd ** 2)[:len(B)]

    names = ["neutral"] + [f"68 landmarks, {n:g} mm" for n in noise] + ["dense frontal 2D, 0.1 mm"]
    scores = {n: [] for n in names}
    for seed in range(lo, hi):
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])  # synthesize()'s head stream
        head = sample_head(model, rng, cfg, hair=seed % 2 == 0)
        gt = ground_truth(model, head).scan()
        ws = [np.zeros(len(B))] + [conditional_mean(model.landmarks68, head.bald, n) for n in noise]
        ws.append(conditional_mean(front, head.bald, 0.1))
        row = []
        for n, w in zip(names, ws):
            ev = evaluate(trimesh.Trimesh(model.neutral + np.einsum("k,knd->nd", w, B), model.faces, process=False), gt)
            scores[n].append((ev.face_sphere.mean, ev.head.mean))
            row.append(f"{ev.face_sphere.mean:.2f} / {ev.head.mean:.2f}")
        print(f"{seed}: " + " | ".join(f"{n}: {r}" for n, r in zip(names, row)), flush=True)
    for n in names:
        f, h = np.median(np.array(scores[n]), 0)
        print(f"median, {n}: face {f:.2f} / head {h:.2f} mm")


if __name__ == "__main__":
    main()
