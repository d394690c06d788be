"""Build ``assets/face_regressor.npz``: the learned one-image face reader of ``neuhead.data.face_regressor``.

    python scripts/make_face_regressor.py [--heads 4500] [--seed 7300000] [--workers 2] [--out assets/face_regressor.npz]

Renders one frontal view of each of ``--heads`` fresh synthetic ICT heads (seeds ``--seed`` onwards: never the
prior's training heads 0..511, the calibration heads 8 000 000.. or the benchmark heads 9 000 000..), a third each
in three looks: the training look (the 360 rig at 0.6 m, 256²); the same rig at a random distance of 0.45–1.6 m
(the field of view follows: the frame stays 360 mm) with the light drawn from the wider "varied" distribution, at
256, 384 or 512 px; and the same with the training light. The benchmark's other look (unlit, 15°) is never
rendered. Each render's mediapipe face mesh and the true pixel positions of the ICT model's 68 landmark vertices
are the training pairs, with the head's true identity / expression weights (``train_face_regressor``). The last
``--held-out`` heads are kept out and scored: landmark error (px) and the face-sphere vertex error (mm) of the
regressed weights against the neutral's. Derived from the ICT-FaceKit model (MIT; assets/ict/LICENSE).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def render_one(seed: int):
    """(image, mediapipe points (468, 2), true 68 landmarks (68, 2), weights) of one head, or None without a face."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from neuhead.data.face import detect_faces
    from neuhead.data.synthetic.rigs import RIG_360
    from neuhead.data.synthetic.scene import SynthConfig, synthesize

    rng = np.random.default_rng([seed, 12345])
    look = seed % 3
    rig, cfg, res = "360", SynthConfig(), 256
    if look:
        rig = replace(RIG_360, distance_mm=float(rng.uniform(450.0, 1600.0)))
        cfg = SynthConfig(lighting="varied") if look == 1 else SynthConfig()
        res = int(rng.choice([256, 384, 512]))
    s = synthesize(seed, n_views=1, res=res, rig=rig, config=cfg)
    faces = detect_faces(s.scene.images[0])
    if not faces:
        return None
    import cv2

    uv = s.scene.world_cameras().project(s.gt.vertices[s.gt.landmarks68])[0][0]
    w = np.concatenate([s.gt.info["identity"], list(s.gt.info["expression"].values())])
    grey = cv2.cvtColor(np.clip(s.scene.images[0], 0, 1).astype(np.float32), cv2.COLOR_RGB2GRAY)
    k = 256 / res  # every render kept at 256² grey (the frame is always 360 mm): a few GB less
    if res != 256:
        grey = cv2.resize(grey, (256, 256), interpolation=cv2.INTER_AREA)
    return (grey * 255 + 0.5).astype(np.uint8), faces[0].points * k, uv * k, w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=4500)
    ap.add_argument("--held-out", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7_300_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "assets" / "face_regressor.npz"))
    a = ap.parse_args()
    if a.held_out < 1:
        raise SystemExit(f"--held-out: need at least 1, got {a.held_out}")
    if a.heads <= a.held_out + 100:
        raise SystemExit(f"--heads: need more than --held-out + 100 ({a.held_out + 100}), got {a.heads}")
    if a.workers < 1:
        raise SystemExit(f"--workers: need at least 1, got {a.workers}")
    if not Path(a.out).parent.is_dir():
        raise SystemExit(f"--out: {Path(a.out).parent} is not a folder")

    from neuhead.data.face_regressor import (grey_at_scale, load_face_regressor, regress_face, save_face_regressor,
                                             train_face_regressor)
    from neuhead.data.synthetic.head import HeadConfig, load_head_model

    t0 = time.perf_counter()
    seeds = range(a.seed, a.seed + a.heads)
    with get_context("spawn").Pool(a.workers) as pool:
        rows = [r for r in pool.imap(render_one, seeds, chunksize=16) if r is not None]
    print(f"{len(rows)} renders with a face of {a.heads} ({time.perf_counter() - t0:.0f} s)", flush=True)
    train, test = rows[:-a.held_out], rows[-a.held_out:]
    model = load_head_model()
    k = min(HeadConfig().n_modes, model.n_modes)  # the identity modes the synthetic heads use
    imgs, p468, p68, w = zip(*train)
    reg = train_face_regressor([i / 255.0 for i in imgs], np.stack(p468), np.stack(p68), np.stack(w), k)
    save_face_regressor(reg, a.out)
    load_face_regressor.cache_clear()
    reg = load_face_regressor(a.out)
    print(f"trained and written to {a.out} ({time.perf_counter() - t0:.0f} s)", flush=True)

    tip = model.neutral[model.landmark_ids()["nose_tip"]]
    ids = np.flatnonzero(np.linalg.norm(model.neutral - tip, axis=1) < 95)
    basis = np.concatenate([model.identity[:k], model.expression], 0)[:, ids].astype(np.float64)
    px, err, err0 = [], [], []
    for img, pts, uv, wt in test:
        est = regress_face(reg, img / 255.0, pts)
        grey, kk = grey_at_scale(img / 255.0, pts, reg.face_scale)
        px.append(np.linalg.norm(est.landmarks - uv, axis=1).mean() * kk)
        d = np.concatenate([est.identity, est.expression]) - wt
        err.append(np.linalg.norm(np.einsum("k,knd->nd", d, basis), axis=1).mean())
        err0.append(np.linalg.norm(np.einsum("k,knd->nd", wt, basis), axis=1).mean())
    print(f"held out ({len(test)} heads): landmark error {np.mean(px):.3f} px at the regressor's face size; "
          f"face-sphere vertex error {np.mean(err):.2f} mm (median {np.median(err):.2f}), the neutral's "
          f"{np.mean(err0):.2f} mm")


if __name__ == "__main__":
    main()
