"""Analytic FieldFns for renderer tests."""

import torch


def sphere_fns(radius=0.5, color=(0.8, 0.3, 0.1), inv_s=4000.0):
    """FieldFns of an exact sphere SDF with a constant colour."""
    from neuhead.render import FieldFns

    def sdf(x):
        return x.norm(dim=-1) - radius

    def sdf_grad(x, create_graph=False):
        g = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-9)
        return sdf(x), torch.zeros(len(x), 1, dtype=x.dtype), g

    c = torch.tensor(color)
    return FieldFns(sdf=sdf, sdf_grad=sdf_grad, color=lambda x, n, f, d: c.to(x.dtype).expand(len(x), 3),
                    inv_s=lambda: torch.tensor(inv_s))
