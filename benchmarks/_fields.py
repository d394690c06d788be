"""Benchmark fields with the cost of the quick preset's networks: an analytic head-sized shape plus a
small perturbation from a PE + 4×64 MLP (so every SDF query runs the MLP, like a fitted model)."""

from __future__ import annotations

import numpy as np
import torch


class QuickSDF(torch.nn.Module):
    """PE (6 frequencies, 39 inputs) → 4 hidden layers of 64 (skip at 2) → 1 SDF + 32 features."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.freqs = 2.0 ** torch.arange(6)
        dims = [(39, 64), (64, 64), (64 + 39, 64), (64, 64), (64, 33)]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in dims)
        for layer in self.layers:
            torch.nn.init.normal_(layer.weight, 0.0, (1.0 / layer.in_features) ** 0.5, generator=g)
            torch.nn.init.zeros_(layer.bias)
        self.act = torch.nn.Softplus(beta=100)

    def encode(self, x):
        xf = x[:, None, :] * self.freqs[None, :, None]  # (n, 6, 3)
        return torch.cat([x, torch.sin(xf).flatten(1), torch.cos(xf).flatten(1)], 1)  # (n, 39)

    def forward(self, x):
        e = self.encode(x)
        h = e
        for i, layer in enumerate(self.layers):
            if i == 2:
                h = torch.cat([h, e], 1) / 2**0.5
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.act(h)
        # head-sized analytic shape (ellipsoid-ish, radii 0.45/0.6/0.5) + a small learned-looking bump
        r = torch.linalg.norm(x / torch.tensor([0.45, 0.6, 0.5]), dim=1)
        return (r - 1.0) * 0.5 + 0.01 * torch.tanh(h[:, 0])


def sdf_fn(module: torch.nn.Module):
    def fn(p: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(p)).numpy()

    return fn


class QuickColor(torch.nn.Module):
    """Radiance-network cost of the quick preset: [x, n, 32 features] → 2 hidden of 64 → RGB."""

    def __init__(self, seed: int = 1):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(38, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                       torch.nn.ReLU(), torch.nn.Linear(64, 3))
        for m in self.net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, 0.0, (1.0 / m.in_features) ** 0.5, generator=g)

    def forward(self, x, n):
        feat = torch.sin(7.0 * x).repeat(1, 11)[:, :32]
        return torch.sigmoid(self.net(torch.cat([x, n, feat], 1)) + 2.0 * torch.sin(4.0 * x))


def color_fn(module: torch.nn.Module):
    def fn(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(p), torch.from_numpy(n)).numpy()

    return fn
