"""Scene-specific linear layers (Multi-NeuS §3.2).

A layer's parameters are one flat vector ``theta = [W (out*in), b (out), g (out, weight norm only)]``.
The kind decides where a scene's ``theta`` comes from:

- shared:      one ``theta`` for every scene (a plain linear layer);
- independent: ``theta_i`` stored per scene, shape (n_scenes, P);
- low-rank:    ``theta_i = sum_j c_ij B_j``, basis ``B`` (r, P) shared, coefficients ``c`` (n_scenes, r).

A scene's weights are formed once per forward call (one scene per batch), not per point. With weight
norm the weight rows are rescaled: ``W_k <- g_k W_k / |W_k|``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Kind = Literal["shared", "independent", "lowrank"]

#: the ``scene`` argument that forms a layer from the mean of every scene's own parameters, detached (only the
#: shared basis gets gradients): the scene a fit starts from (``add_scene``), used by meta-learning's regularisers
MEAN_SCENE = "mean"


class SceneLinear(nn.Module):
    """Linear layer whose weights may depend on the scene index. ``forward(x, scene: int)``."""

    def __init__(self, in_features: int, out_features: int, n_scenes: int = 1, kind: Kind = "shared",
                 rank: int = 64, weight_norm: bool = False, init_noise: float = 0.02,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if kind not in ("shared", "independent", "lowrank"):
            raise ValueError(f"SceneLinear: unknown kind {kind!r}")
        self.in_features, self.out_features = in_features, out_features
        self.kind, self.weight_norm, self.init_noise = kind, weight_norm, init_noise
        self.n_params = out_features * in_features + out_features * (2 if weight_norm else 1)
        self.rank = rank if kind == "lowrank" else 0
        theta = self._default_theta(generator)
        if kind == "shared":
            self.theta = nn.Parameter(theta)
        elif kind == "independent":
            self.theta = nn.Parameter(theta.expand(n_scenes, -1).clone())
        else:
            self.basis = nn.Parameter(torch.empty(rank, self.n_params))
            self.coeffs = nn.Parameter(torch.empty(n_scenes, rank))
            self.set_theta(theta, generator)

    # --- initialisation ---------------------------------------------------------------------------
    def _default_theta(self, generator) -> torch.Tensor:
        """PyTorch's default nn.Linear initialisation, as a theta vector."""
        bound = 1.0 / math.sqrt(self.in_features)
        W = (torch.rand(self.out_features, self.in_features, generator=generator) * 2 - 1) * bound
        b = (torch.rand(self.out_features, generator=generator) * 2 - 1) * bound
        return self.pack(W, b)

    def pack(self, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """theta from a weight (out, in) and bias (out); g = row norms of W when weight-normed."""
        parts = [W.reshape(-1), b.reshape(-1)]
        if self.weight_norm:
            parts.append(W.norm(dim=1))
        return torch.cat(parts)

    @torch.no_grad()
    def set_theta(self, theta: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Make every scene's weights equal ``theta`` (P,) (used by geometric initialisation).

        Low-rank: all coefficients = 1/r and each basis vector = theta + noise, so the mean basis vector
        is theta up to noise of std ``init_noise * std(theta) / sqrt(r)`` and the basis spans directions.
        """
        if self.kind == "shared":
            self.theta.copy_(theta)
        elif self.kind == "independent":
            self.theta.copy_(theta.expand_as(self.theta))
        else:
            scale = self.init_noise * (theta.std() + 1e-8)
            noise = torch.randn(self.basis.shape, generator=generator) * scale
            noise -= noise.mean(0, keepdim=True)  # the mean over the basis is exactly theta
            self.basis.copy_(theta[None] + noise)
            self.coeffs.fill_(1.0 / self.rank)

    # --- per-scene parameters -------------------------------------------------------------------
    @property
    def n_scenes(self) -> int:
        if self.kind == "independent":
            return self.theta.shape[0]
        if self.kind == "lowrank":
            return self.coeffs.shape[0]
        return 0

    def scene_parameters(self) -> list[nn.Parameter]:
        """Parameters with one row per scene (row i belongs to scene i)."""
        if self.kind == "independent":
            return [self.theta]
        if self.kind == "lowrank":
            return [self.coeffs]
        return []

    def shared_parameters(self) -> list[nn.Parameter]:
        if self.kind == "shared":
            return [self.theta]
        if self.kind == "lowrank":
            return [self.basis]
        return []

    @torch.no_grad()
    def add_scene(self) -> None:
        """Append one scene initialised to the mean of the existing scenes' own parameters."""
        for name in ("theta", "coeffs"):
            if self.kind == "shared" or not hasattr(self, name):
                continue
            p = getattr(self, name)
            setattr(self, name, nn.Parameter(torch.cat([p.data, p.data.mean(0, keepdim=True)], 0)))

    # --- forward ----------------------------------------------------------------------------------
    def scene_theta(self, scene: int | str) -> torch.Tensor:
        """The (P,) parameter vector of one scene (formed once; differentiable), or of ``MEAN_SCENE``."""
        if self.kind == "shared":
            return self.theta
        if self.kind == "independent":
            return self.theta.detach().mean(0) if scene == MEAN_SCENE else self.theta[scene]
        c = self.coeffs.detach().mean(0) if scene == MEAN_SCENE else self.coeffs[scene]
        return c @ self.basis  # (r,) @ (r, P) -> (P,)

    def relative_deviation(self, scene: int) -> torch.Tensor:
        """|theta_scene - theta_mean|^2 / |theta_mean|^2 (0 for a shared layer); differentiable in the scene's
        own parameters and the basis, the mean's coefficients and the denominator detached."""
        if self.kind == "shared":
            return self.theta.new_zeros(())
        mean = self.scene_theta(MEAN_SCENE)
        return ((self.scene_theta(scene) - mean) ** 2).sum() / mean.detach().pow(2).sum().clamp_min(1e-12)

    def weight_bias(self, scene: int | str) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.scene_theta(scene)
        o, i = self.out_features, self.in_features
        W = theta[: o * i].view(o, i)
        b = theta[o * i: o * i + o]
        if self.weight_norm:
            g = theta[o * i + o:]
            W = W * (g / W.norm(dim=1).clamp_min(1e-12))[:, None]
        return W, b

    def forward(self, x: torch.Tensor, scene: int | str = 0) -> torch.Tensor:
        W, b = self.weight_bias(scene)
        return F.linear(x, W, b)

    def extra_repr(self) -> str:
        return f"{self.in_features}->{self.out_features}, kind={self.kind}, rank={self.rank}, wn={self.weight_norm}"


class NaiveSceneLinear(nn.Module):
    """Slow, obviously-correct reference: an explicit ``nn.Linear`` per scene holding the weights
    that ``SceneLinear`` forms for that scene. Used only by tests."""

    def __init__(self, layer: SceneLinear, n_scenes: int) -> None:
        super().__init__()
        self.linears = nn.ModuleList()
        for s in range(n_scenes):
            lin = nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                theta = layer.scene_theta(s if layer.kind != "shared" else 0)
                o, i = layer.out_features, layer.in_features
                W = theta[: o * i].view(o, i).clone()
                for k in range(o):  # row by row, the textbook weight-norm formula
                    if layer.weight_norm:
                        W[k] = theta[o * i + o + k] * W[k] / W[k].norm()
                lin.weight.copy_(W)
                lin.bias.copy_(theta[o * i: o * i + o])
            self.linears.append(lin)

    def forward(self, x: torch.Tensor, scene: int = 0) -> torch.Tensor:
        return self.linears[scene](x)
