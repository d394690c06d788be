"""neuhead.numerics: denormal floats flushed by a model, kept for mediapipe."""

import torch

from neuhead.config import ModelConfig
from neuhead.model.multineus import MultiNeuS
from neuhead.numerics import denormals_flushed, denormals_kept

TINY = ModelConfig(sdf_hidden=8, sdf_layers=2, sdf_skip=(), feature_dim=4, rgb_hidden=8, rgb_layers=1, rank=2,
                   sdf_scene_layers=1, rgb_scene_layers=1, weight_norm=False)


def test_building_a_model_flushes_denormals_and_the_kept_block_restores_them():
    """Denormal floats (under 1.2e-38 in float32) read as zero once a model exists, on CPUs that can (x86 with SSE3;
    ``set_flush_denormal`` says whether it could); ``denormals_kept`` keeps them inside and flushes again after."""
    supported = torch.set_flush_denormal(False)
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert (tiny * 1.0).item() != 0.0 and not denormals_flushed()  # kept
    MultiNeuS(TINY)
    assert ((tiny * 1.0).item() == 0.0) == supported == denormals_flushed()
    with denormals_kept():
        assert (tiny * 1.0).item() != 0.0
    assert denormals_flushed() == supported
    torch.set_flush_denormal(False)
    with denormals_kept():  # nothing to restore when flushing was off
        pass
    assert not denormals_flushed()
