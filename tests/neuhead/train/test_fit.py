from dataclasses import replace

import torch

from neuhead.config import ModelConfig, RenderConfig, SCRATCH_PRESETS, StageConfig
from neuhead.train.checkpoint import load_checkpoint
from neuhead.train.fit import run_stages

TINY = replace(
    SCRATCH_PRESETS["quick"],
    model=ModelConfig(sdf_hidden=32, sdf_layers=2, sdf_skip=(), pe_freqs=2, feature_dim=8, rgb_hidden=16,
                      rgb_layers=1, weight_norm=False, scene_kind="shared"),
    render=RenderConfig(n_samples=16, n_importance=16, up_sample_steps=2),
    batch_rays=64,
    checkpoint_every=5,
)


def _cfg(iters):
    return replace(TINY, stages=(StageConfig(name="scratch", iters=iters, lr=5e-3, warmup=3, cos_anneal_end=10),))



def test_killed_run_resumes_to_the_same_weights(sample_scene, tmp_path):
    class Killed(Exception):
        pass

    def kill(stage, it, logs):
        if it == 7:  # after the checkpoint at iteration 5, before the one at 10
            raise Killed

    full = run_stages(sample_scene, _cfg(10), progress=False)
    try:
        run_stages(sample_scene, _cfg(10), out_dir=tmp_path, progress=False, callback=kill)
    except Killed:
        pass
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").meta["iteration"] == 5
    resumed = run_stages(sample_scene, _cfg(10), out_dir=tmp_path, resume=True, progress=False)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    hist = resumed.history["scratch"]
    assert [it for it, _ in hist] == [10]

def test_fit_is_deterministic(sample_scene):
    a = run_stages(sample_scene, _cfg(6), progress=False)
    b = run_stages(sample_scene, _cfg(6), progress=False)
    for (k, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), k
