"""Which hidden units of a prior's SDF network still work: for each hidden layer, the share of its units whose
pre-activation is positive at ≥ 0.1 % of the points, on training head k's true surface with scene k's weights, and
on fresh heads' surfaces with the mean scene (the start of every fit). A unit that is never positive passes
almost nothing on through Softplus β = 100 and gets almost no gradient: it is dead for that scene.

    python scripts/dead_units.py PRIOR_DIR_OR_META_CHECKPOINT DATA_DIR [--scenes 12] [--fresh 3]

DATA_DIR: the `neuhead synth` folders the prior was trained on (scene k = the k-th folder, sorted); surfaces are
regenerated from each folder's seed (``scene_dir_head``); fresh heads use seeds 9 000 000 on.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuhead.data.synthetic.geometry import HeadGeometry, scene_dir_head
from neuhead.model.fields import SDFNetwork, positional_encoding
from neuhead.prior import load_model


def alive_fractions(net: SDFNetwork, x: torch.Tensor, scene: int, min_share: float = 1e-3) -> list[float]:
    """Per hidden layer of ``net``: the share of units positive at more than ``min_share`` of the points x."""
    inp = positional_encoding(x, net.cfg.pe_freqs)
    h, out = inp, []
    with torch.no_grad():
        for l, layer in enumerate(net.layers[:-1]):
            if l in net.skip:
                h = torch.cat([h, inp], -1) / math.sqrt(2)
            h = layer(h, scene)
            out.append(float((h > 0).float().mean(0).gt(min_share).float().mean()))
            h = F.softplus(h, beta=100)
    return out


def _surface(head: HeadGeometry, n: int) -> torch.Tensor:
    pts, _, _ = head.sample_surface(n, np.random.default_rng(5))
    return torch.as_tensor(pts, dtype=torch.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prior", help="a prior folder or a meta-learning checkpoint (meta.safetensors)")
    ap.add_argument("data", type=Path)
    ap.add_argument("--scenes", type=int, default=12, help="training scenes to look at (every k-th of all)")
    ap.add_argument("--fresh", type=int, default=3, help="fresh heads for the mean scene")
    ap.add_argument("--points", type=int, default=20000)
    a = ap.parse_args()
    model = load_model(a.prior)
    dirs = sorted(p for p in a.data.iterdir() if p.is_dir())
    n_scenes = model.sdf_net.layers[0].n_scenes
    step = max(1, n_scenes // max(1, a.scenes))
    rows = []
    for k in range(0, n_scenes, step)[: a.scenes]:
        rows.append(alive_fractions(model.sdf_net, _surface(scene_dir_head(dirs[k]), a.points), k))
    train = np.array(rows)
    mean_scene = model.add_scene()
    fresh_heads = [HeadGeometry(9_000_000 + i, hair=True) for i in range(a.fresh)]
    fresh = np.array([alive_fractions(model.sdf_net, _surface(head, a.points), mean_scene) for head in fresh_heads])
    fmt = lambda v: " ".join(f"{x:.2f}" for x in v)  # noqa: E731
    print(f"{a.prior}: share of units alive per hidden layer (layer 0 first)")
    print(f"  training scenes ({len(train)}), mean: {fmt(train.mean(0))}")
    print(f"  training scenes, lowest:   {fmt(train.min(0))}")
    print(f"  scenes with a whole layer dead: {int((train.min(1) == 0).sum())} of {len(train)}")
    print(f"  mean scene on {len(fresh)} fresh heads: {fmt(fresh.mean(0))}")


if __name__ == "__main__":
    main()
