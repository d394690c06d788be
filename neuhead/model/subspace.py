"""Keeping a new scene's SDF coefficients inside the training heads' principal subspace.

A prior's low-rank SDF layers hold one coefficient row per training scene. Stacked over the SDF's low-rank
layers they are points in R^D (D = sum of ranks); ``CoefficientSubspace`` takes their mean and their first
``k`` principal directions and, after every optimiser step, projects the fitted scene's row back onto that
affine subspace, ``c <- mu + P P^T (c - mu)`` (projected Adam). The image then moves the head only along
directions in which training heads differ. The radiance layers stay free (a new look is not a training look).
"""

from __future__ import annotations

import torch


class CoefficientSubspace:
    """The training scenes' mean and first ``k`` principal directions of the SDF low-rank coefficients."""

    def __init__(self, model, scene_index: int, k: int) -> None:
        self.layers = [layer for layer in model.sdf_net.layers if layer.kind == "lowrank"]
        keep = [i for i in range(model.n_scenes) if i != scene_index]
        if not self.layers or len(keep) < 2:
            raise ValueError("a coefficient subspace needs a prior with low-rank SDF layers and >= 2 training scenes")
        if not 0 < k < len(keep):
            raise ValueError(f"subspace size {k}: expected 1..{len(keep) - 1} (the prior has {len(keep)} scenes)")
        C = torch.cat([layer.coeffs.detach()[keep] for layer in self.layers], 1).double()
        self.mean = C.mean(0)
        _, s, vt = torch.linalg.svd(C - self.mean, full_matrices=False)
        self.basis = vt[:k]  # (k, D), orthonormal rows
        self.explained = float((s[:k] ** 2).sum() / (s ** 2).sum())
        self.sizes = [layer.coeffs.shape[1] for layer in self.layers]
        self.scene_index = scene_index

    def row(self) -> torch.Tensor:
        """The fitted scene's stacked coefficients (D,), float64."""
        return torch.cat([layer.coeffs.detach()[self.scene_index] for layer in self.layers]).double()

    @torch.no_grad()
    def project(self) -> None:
        """Move the fitted scene's coefficients onto the subspace (in place)."""
        d = self.row() - self.mean
        c = self.mean + self.basis.T @ (self.basis @ d)
        for layer, part in zip(self.layers, torch.split(c, self.sizes)):
            layer.coeffs[self.scene_index] = part.to(layer.coeffs.dtype)
