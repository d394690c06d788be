from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from neuhead.train.distributed import spawn
from neuhead.train.meta import meta_train
from test_meta import TINY_META, scene_loss, tiny_scenes


def _train_and_save(scenes, cfg, out_dir):
    import torch.distributed as dist

    res = meta_train(scenes, cfg, out_dir, progress=False)
    rank = dist.get_rank()
    save_file({k: v.contiguous() for k, v in res.model.state_dict().items()}, str(Path(out_dir) / f"rank{rank}.safetensors"))


def test_two_process_meta_learning_matches_single_process(tmp_path):
    scenes = tiny_scenes()
    cfg = replace(TINY_META, iters=60, checkpoint_every=30)
    spawn(_train_and_save, (scenes, cfg, str(tmp_path / "ddp")), workers=2, threads_per_worker=1)
    r0 = load_file(str(tmp_path / "ddp" / "rank0.safetensors"))
    r1 = load_file(str(tmp_path / "ddp" / "rank1.safetensors"))
    for k in r0:  # replicas stay identical
        assert torch.equal(r0[k], r1[k]), k
    # the same number of scene-steps in one process (2 x 60) reaches a comparable loss
    single = meta_train(scenes, replace(cfg, iters=120), tmp_path / "single", progress=False)
    from neuhead.model.multineus import MultiNeuS

    ddp_model = MultiNeuS(cfg.model, n_scenes=3, background=False)
    ddp_model.load_state_dict(r0)
    init = MultiNeuS(cfg.model, n_scenes=3, background=False, seed=cfg.seed)
    for k, s in enumerate(scenes):
        l0, l_ddp, l_single = scene_loss(init, s, k), scene_loss(ddp_model, s, k), scene_loss(single.model, s, k)
        assert l_ddp < 0.85 * l0, (k, l0, l_ddp)
        assert abs(l_ddp - l_single) < 0.35 * l0, (k, l0, l_ddp, l_single)
