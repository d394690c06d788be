import torch

from neuhead.train.lazy_adam import LazyAdam


def test_matches_torch_adam_for_the_rows_it_updates():
    g = torch.Generator().manual_seed(0)
    shared = torch.nn.Parameter(torch.randn(4, 3, generator=g))
    scene = torch.nn.Parameter(torch.randn(3, 5, generator=g))
    ref_shared = torch.nn.Parameter(shared.detach().clone())
    ref_row = torch.nn.Parameter(scene.detach()[1].clone())
    opt = LazyAdam([shared], [scene], lr=1e-2)
    ref = torch.optim.Adam([ref_shared, ref_row], lr=1e-2)
    for _ in range(5):
        gs, gr = torch.randn(4, 3, generator=g), torch.randn(5, generator=g)
        shared.grad, scene.grad = gs.clone(), torch.zeros(3, 5)
        scene.grad[1] = gr
        ref_shared.grad, ref_row.grad = gs.clone(), gr.clone()
        opt.step([1])
        ref.step()
    torch.testing.assert_close(shared, ref_shared)
    torch.testing.assert_close(scene[1], ref_row)


def test_other_scenes_are_bitwise_unchanged():
    g = torch.Generator().manual_seed(1)
    shared = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    scene = torch.nn.Parameter(torch.randn(3, 4, generator=g))
    opt = LazyAdam([shared], [scene], lr=1e-2)
    # one step on scene 0 so every state is non-trivial
    shared.grad, scene.grad = torch.randn(2, 2, generator=g), torch.randn(3, 4, generator=g)
    opt.step([0])
    before_p = scene.detach()[0].clone()
    before_m = opt.state[id(scene)]["m"][0].clone()
    before_v = opt.state[id(scene)]["v"][0].clone()
    before_t = opt.state[id(scene)]["t"][0].clone()
    # a step on scene 2: scene 0's parameters and optimizer state must not move, even with a gradient
    shared.grad, scene.grad = torch.randn(2, 2, generator=g), torch.randn(3, 4, generator=g)
    opt.step([2])
    assert torch.equal(scene.detach()[0], before_p)
    assert torch.equal(opt.state[id(scene)]["m"][0], before_m)
    assert torch.equal(opt.state[id(scene)]["v"][0], before_v)
    assert torch.equal(opt.state[id(scene)]["t"][0], before_t)
    assert opt.state[id(scene)]["t"].tolist() == [1, 0, 1]
