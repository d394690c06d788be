"""Adam with lazy per-scene state (Multi-NeuS meta-learning).

Shared parameters get plain Adam. A *scene parameter* has one row per scene (row i belongs to scene i);
its moments and its step count change only for the scenes in the batch, so a scene that is not
sampled keeps its parameters and optimizer state bitwise unchanged.

Reference implementation of the update, per tensor (or row) with its own step count t:
``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g²``; ``p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class LazyAdam:
    """``LazyAdam(shared, scene, lr)``; ``step(scenes)`` updates shared params and the given scene rows."""

    def __init__(self, shared: Iterable[torch.nn.Parameter], scene: Iterable[torch.nn.Parameter], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.shared = list(shared)
        self.scene = list(scene)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.state: dict[int, dict[str, torch.Tensor]] = {}
        for p in self.shared + self.scene:
            steps = torch.zeros(p.shape[0] if self._is_scene(p) else 1, dtype=torch.int64)
            self.state[id(p)] = {"m": torch.zeros_like(p), "v": torch.zeros_like(p), "t": steps}

    def _is_scene(self, p) -> bool:
        return any(p is q for q in self.scene)

    def zero_grad(self) -> None:
        for p in self.shared + self.scene:
            p.grad = None

    @torch.no_grad()
    def step(self, scenes: Iterable[int]) -> None:
        scenes = sorted(set(int(s) for s in scenes))
        b1, b2 = self.betas
        for p in self.shared:
            if p.grad is not None:
                self._update(p, p.grad, self.state[id(p)], None)
        for p in self.scene:
            if p.grad is None:
                continue
            for s in scenes:
                self._update(p, p.grad, self.state[id(p)], s)

    def _update(self, p, g, st, row: int | None) -> None:
        b1, b2 = self.betas
        if row is None:
            P, G, M, V, k = p, g, st["m"], st["v"], 0
        else:
            P, G, M, V, k = p[row], g[row], st["m"][row], st["v"][row], row
        st["t"][k] += 1
        t = int(st["t"][k])
        M.mul_(b1).add_(G, alpha=1 - b1)
        V.mul_(b2).addcmul_(G, G, value=1 - b2)
        denom = (V / (1 - b2**t)).sqrt_().add_(self.eps)
        P.addcdiv_(M, denom, value=-self.lr / (1 - b1**t))

    # --- checkpointing -----------------------------------------------------------------------------
    def tensors(self, names: dict[int, str], prefix: str = "optim.") -> dict[str, torch.Tensor]:
        """State as named tensors; ``names`` maps id(param) -> parameter name."""
        out = {}
        for pid, st in self.state.items():
            for k, v in st.items():
                out[f"{prefix}{names[pid]}.{k}"] = v.clone().contiguous()
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor], names: dict[int, str], prefix: str = "optim.") -> None:
        for pid, st in self.state.items():
            for k in st:
                st[k] = tensors[f"{prefix}{names[pid]}.{k}"].clone()
