"""Process-wide CPU float settings: denormal floats flushed to zero for our networks, kept for mediapipe.

A trained network's saturated units (Softplus beta = 100, sigmoids) give values and gradients under 1.2e-38, and
CPUs compute with such denormal floats many times slower. Measured on the project's 2-core CPU: a one-view fit end
to end 121 s -> 49 s, three views 235 -> 70 s, a meta-learning geometry step 93 -> 13 ms
(assets/prior/MODEL_CARD.md, "Denormal floats"). torch can only set the CPU's flush-to-zero mode for the whole
process, and mediapipe's selfie segmentation (TF Lite) then fails to allocate its tensors, so mediapipe runs
inside ``denormals_kept()``.
"""

from __future__ import annotations

import contextlib

import torch


def flush_denormals() -> None:
    """Treat denormal floats as zero on the CPU from now on (process-wide; a no-op on CPUs that cannot)."""
    torch.set_flush_denormal(True)


def denormals_flushed() -> bool:
    """Whether the CPU flushes denormal floats to zero now (torch has no getter, so a denormal is multiplied)."""
    return torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0


@contextlib.contextmanager
def denormals_kept():
    """The CPU's own denormal arithmetic inside the block, flushing restored after it if it was on."""
    was = denormals_flushed()
    if was:
        torch.set_flush_denormal(False)
    try:
        yield
    finally:
        if was:
            flush_denormals()
