"""Learning-rate schedules, reduce-on-plateau, early stopping, and that fitting really optimises.

Oracles: the closed-form warm-up/cosine curve; a loss sequence whose plateau points are known; a
fit whose optimizer is replaced by one that never steps (its loss must not move, the real one must).
"""

import numpy as np
import pytest
import torch

from neuhead.config import FitConfig, QUICK_MODEL, QUICK_RENDER, StageConfig
from neuhead.train import fit as fitmod
from neuhead.train.fit import Plateau, run_stages, lr_factor


def test_warmup_then_cosine_to_the_final_ratio():
    st = StageConfig(iters=1000, warmup=100, schedule="cosine", final_lr_ratio=0.05)
    assert lr_factor(st, 0, 1.0) == pytest.approx(1 / 100)
    assert lr_factor(st, 49, 1.0) == pytest.approx(50 / 100)
    assert lr_factor(st, 100, 1.0) == pytest.approx(1.0)
    mid = 100 + 450  # half-way through the cosine
    assert lr_factor(st, mid, 1.0) == pytest.approx(0.05 + 0.95 * 0.5)
    assert lr_factor(st, 1000, 1.0) == pytest.approx(0.05)
    vals = [lr_factor(st, i, 1.0) for i in range(100, 1001)]
    assert all(a >= b - 1e-12 for a, b in zip(vals, vals[1:]))  # monotone after the warm-up


def test_plateau_and_constant_schedules_follow_the_plateau_scale():
    st = StageConfig(iters=100, warmup=0, schedule="plateau")
    assert lr_factor(st, 10, 0.316) == 0.316
    assert lr_factor(StageConfig(iters=100, warmup=0, schedule="constant"), 10, 0.1) == 1.0


def test_plateau_drops_after_patience_without_improvement_and_not_while_improving():
    p = Plateau(patience=5, factor=0.5)
    for i in range(50):  # steadily falling loss: never a drop
        p.update(10.0 * 0.9 ** i)
    assert p.drops == 0 and p.scale == 1.0
    flat = Plateau(patience=5, factor=0.5)
    flat.update(1.0)
    for _ in range(5):
        flat.update(1.0)  # no 1 % improvement: the 5th update drops
    assert flat.drops == 1 and flat.scale == 0.5
    for _ in range(10):
        flat.update(1.0)
    assert flat.drops == 3 and flat.scale == pytest.approx(0.125)


def _cfg(iters=40, schedule="constant", patience=500, drops=3):
    st = StageConfig(name="all", params="all", iters=iters, lr=5e-3, warmup=0, schedule=schedule,
                     plateau_patience=patience, early_stop_drops=drops, cos_anneal_end=0)
    return FitConfig(model=QUICK_MODEL, render=QUICK_RENDER, stages=(st,), batch_rays=128)


def _first_last(scene, cfg):
    """Mean colour loss of the first and the last 10 iterations (every iteration, via the callback)."""
    curve = []
    run_stages(scene, cfg, progress=False, callback=lambda stage, it, logs: curve.append(logs["color"]))
    return float(np.mean(curve[:10])), float(np.mean(curve[-10:]))


def test_fitting_lowers_the_loss_and_a_frozen_optimizer_does_not(sample_scene, monkeypatch):
    first, last = _first_last(sample_scene, _cfg(iters=60))
    assert last < 0.8 * first  # 60 real Adam steps on the analytic scene

    class Frozen(torch.optim.Adam):
        def step(self, closure=None):  # gradients are computed, no weight ever moves
            return None

    monkeypatch.setattr(fitmod.torch.optim, "Adam", Frozen)
    f2, l2 = _first_last(sample_scene, _cfg(iters=60))
    assert abs(l2 - f2) < 0.1 * f2  # only the random rays change
    assert l2 > 0.9 * first


def test_plateau_schedule_stops_a_stage_early(sample_scene):
    its = []
    run_stages(sample_scene, _cfg(iters=400, schedule="plateau", patience=2, drops=2), progress=False,
              callback=lambda stage, it, logs: its.append(it))
    assert its[-1] < 399  # stopped after the second learning-rate drop, well before the budget
    assert its == list(range(1, len(its) + 1))
