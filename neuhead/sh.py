"""Second-order spherical harmonics for Lambertian irradiance (numpy or torch alike).

The irradiance of any distant light on a Lambertian surface is held by the first nine real SH to a few per cent
(Ramamoorthi and Hanrahan 2001). The basis here drops the SH normalising constants: they are folded into the
coefficients, ``E(n) = basis(n) @ coeffs`` with ``coeffs`` (9, 3), one column per colour channel.
"""

from __future__ import annotations

import numpy as np

N_BASIS = 9
#: the gamma of the sRGB encoding the synthetic heads are shaded in (``data.synthetic.appearance``) and a shaded
#: radiance network shades its albedo in (``model.fields.shade_albedo``)
SRGB_GAMMA = 2.2


def basis(n):
    """(..., 3) unit normals -> (..., 9): ``1, x, y, z, xy, yz, xz, x² - y², 3z² - 1`` (numpy array or torch tensor)."""
    x, y, z = n[..., 0], n[..., 1], n[..., 2]
    parts = [x * 0 + 1, x, y, z, x * y, y * z, x * z, x * x - y * y, 3 * z * z - 1]
    if isinstance(n, np.ndarray):
        return np.stack(parts, -1)
    import torch

    return torch.stack(parts, -1)


def sphere_directions(n: int = 2048, seed: int = 0) -> np.ndarray:
    """(n, 3) unit vectors drawn uniformly on the sphere (fixed by ``seed``)."""
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fit_coefficients(normals: np.ndarray, irradiance: np.ndarray) -> np.ndarray:
    """Least-squares SH coefficients (9, 3) of linear irradiance (m, 3) seen at unit normals (m, 3)."""
    coeffs, *_ = np.linalg.lstsq(basis(np.asarray(normals, np.float64)), np.asarray(irradiance, np.float64), rcond=None)
    return coeffs
