import pytest
import torch

from neuhead.config import ModelConfig
from neuhead.model.multineus import MultiNeuS
from neuhead.model.scene_linear import MEAN_SCENE, NaiveSceneLinear, SceneLinear


@pytest.mark.parametrize("kind", ["shared", "independent", "lowrank"])
@pytest.mark.parametrize("wn", [False, True])
def test_fast_path_equals_naive_reference(kind, wn):
    g = torch.Generator().manual_seed(0)
    layer = SceneLinear(7, 5, n_scenes=3, kind=kind, rank=4, weight_norm=wn, generator=g)
    with torch.no_grad():  # make the scenes differ
        for p in layer.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    ref = NaiveSceneLinear(layer, 3)
    x = torch.randn(11, 7, generator=g)
    for s in range(3):
        torch.testing.assert_close(layer(x, s), ref(x, s), rtol=1e-5, atol=1e-6)


def test_lowrank_init_equals_theta_for_every_scene():
    layer = SceneLinear(6, 4, n_scenes=5, kind="lowrank", rank=8)
    theta = torch.arange(layer.n_params, dtype=torch.float32) / 10
    layer.set_theta(theta)
    for s in range(5):
        torch.testing.assert_close(layer.scene_theta(s), theta, rtol=1e-5, atol=1e-5)


def _three_different_scenes(kind) -> SceneLinear:
    """A 4 -> 3 layer of three scenes whose own parameters are drawn at random (so they differ)."""
    layer = SceneLinear(4, 3, n_scenes=3, kind=kind, rank=5)
    with torch.no_grad():
        for p in layer.scene_parameters():
            p.normal_()
    return layer


@pytest.mark.parametrize("kind", ["independent", "lowrank"])
def test_add_scene_is_the_mean(kind):
    layer = _three_different_scenes(kind)
    thetas = torch.stack([layer.scene_theta(s) for s in range(3)])
    layer.add_scene()
    assert layer.n_scenes == 4
    # low-rank: the mean of coefficients gives the mean of the (linear) weights
    torch.testing.assert_close(layer.scene_theta(3), thetas.mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["independent", "lowrank"])
def test_mean_scene_is_the_scene_add_scene_appends_and_moves_only_shared_weights(kind):
    layer = _three_different_scenes(kind)
    x = torch.randn(6, 4)
    out = layer(x, MEAN_SCENE)
    if kind == "lowrank":  # independent: no shared weights, nothing to differentiate
        out.sum().backward()
        assert layer.basis.grad is not None and layer.basis.grad.abs().sum() > 0
    assert all(p.grad is None for p in layer.scene_parameters())  # the mean is detached from the scenes' rows
    expected = out.detach()
    layer.add_scene()
    torch.testing.assert_close(layer(x, 3), expected, rtol=1e-5, atol=1e-6)


def test_relative_deviation_against_an_explicit_sum():
    layer = SceneLinear(4, 3, n_scenes=3, kind="lowrank", rank=5)
    assert float(layer.relative_deviation(1)) < 1e-10  # every scene starts at the same weights
    with torch.no_grad():
        layer.coeffs.normal_()
    thetas = torch.stack([layer.coeffs[s] @ layer.basis for s in range(3)]).detach()
    mean = thetas.mean(0)
    expected = ((thetas[2] - mean) ** 2).sum() / (mean ** 2).sum()
    torch.testing.assert_close(layer.relative_deviation(2), expected, rtol=1e-5, atol=1e-7)
    layer.relative_deviation(2).backward()
    assert layer.coeffs.grad[2].abs().sum() > 0 and layer.coeffs.grad[[0, 1]].abs().sum() == 0
    assert float(SceneLinear(4, 3, kind="shared").relative_deviation(0)) == 0.0


def test_model_add_scene_mean_init_and_sphere_init():
    cfg = ModelConfig(sdf_hidden=48, sdf_layers=4, sdf_skip=(2,), pe_freqs=4, feature_dim=8, rgb_hidden=16, rgb_layers=2,
                      rank=6, sdf_scene_layers=2, rgb_scene_layers=1, weight_norm=True)
    m = MultiNeuS(cfg, n_scenes=2)
    x = torch.randn(500, 3)
    x = x / x.norm(dim=-1, keepdim=True)
    # geometric init: f(x) ≈ |x| - 0.5 (approximate for narrow networks): inside near the centre, outside far
    inner, outer = m.sdf(0.1 * x, 0).mean().item(), m.sdf(0.9 * x, 0).mean().item()
    assert inner < 0 < outer and 0.5 < outer - inner < 1.1
    with torch.no_grad():
        for p in m.scene_parameters():
            p[1].add_(0.05)
    before = [p.detach().clone() for p in m.scene_parameters()]
    k = m.add_scene()
    assert k == 2 and m.n_scenes == 3
    for b, p in zip(before, m.scene_parameters()):
        torch.testing.assert_close(p[2], b.mean(0))

