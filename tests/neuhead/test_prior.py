import numpy as np
import torch
import trimesh
from scipy.spatial import cKDTree

from neuhead.api import fit_config
from neuhead.data.canonical import CANONICAL_TO_WORLD, canonical_similarity
from neuhead.data.synthetic.head import load_head_model
from neuhead.data.synthetic.scene import make_head_scene
from neuhead.prior import load_prior
from neuhead.reconstruction import Reconstruction
from neuhead.train.fit import run_stages


def test_shipped_prior_mean_head_is_head_shaped():
    prior = load_prior()  # safetensors + JSON only
    assert prior.model.n_scenes == 256
    k = prior.model.add_scene()
    mesh = Reconstruction(prior.model, k, CANONICAL_TO_WORLD, "mm").extract_mesh(96)
    w, h, d = mesh.bounds[1] - mesh.bounds[0]
    assert 130 < w < 230 and 180 < h < 320 and 150 < d < 260, (w, h, d)
    hm = load_head_model()
    sim = canonical_similarity({n: hm.neutral[i] for n, i in hm.landmark_ids().items()})
    gt = trimesh.Trimesh(sim.apply(hm.neutral), hm.faces, process=False)
    p = np.asarray(trimesh.sample.sample_surface(mesh, 20000, seed=0)[0])
    g = np.asarray(trimesh.sample.sample_surface(gt, 20000, seed=0)[0])
    chamfer = (cKDTree(g).query(p)[0].mean() + cKDTree(p).query(g)[0].mean()) / 2
    assert chamfer < 10.0, chamfer  # model card: 5.5 mm at 128³ (hair on the mean head, none on the neutral)


def test_two_stage_fit_moves_only_the_new_scene_in_stage_1_and_lowers_the_loss():
    scene, _ = make_head_scene(5_000_123, n_views=3, res=64, rig="portrait")
    prior = load_prior()
    before = [p.detach().clone() for p in prior.model.scene_parameters()]
    shared_before = [p.detach().clone() for p in prior.model.shared_parameters()]
    k = prior.model.add_scene()
    start = fixed_ray_loss(prior.model, k, scene, prior.config.render)
    cfg = fit_config("quick", prior.config.model, iters=60, stages="stage1")
    res = run_stages(scene, cfg, model=prior.model, progress=False)
    for b, p in zip(before, res.model.scene_parameters()):
        assert torch.equal(p[:k].detach(), b)  # the 256 training scenes are untouched
    for b, p in zip(shared_before, res.model.shared_parameters()):
        assert torch.equal(p.detach(), b)  # stage 1 moves no shared weight
    end = fixed_ray_loss(res.model, k, scene, prior.config.render)
    assert end < 0.9 * start, (start, end)


def fixed_ray_loss(model, k, scene, render_cfg) -> float:
    """Colour L1 on 2048 fixed rays (black background) of the scene's views."""
    from neuhead.render import model_fns, render_rays
    from neuhead.train.fit import PixelSampler, make_rays

    cam, u, v, rgb, mask = PixelSampler(scene).sample(2048, torch.Generator().manual_seed(7))
    rays = make_rays(torch.as_tensor(scene.cameras.K), torch.as_tensor(scene.cameras.c2w), cam, u, v)
    with torch.no_grad():
        out = render_rays(rays, model_fns(model, k), render_cfg, training=False)
    return float((out.rgb - rgb * mask).abs().mean())
