"""scripts/dead_units.py: the share of an SDF network's hidden units that are positive anywhere on a point set."""

import importlib.util
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from neuhead.config import ModelConfig
from neuhead.model.fields import SDFNetwork

_spec = importlib.util.spec_from_file_location("dead_units", Path(__file__).parents[3] / "scripts" / "dead_units.py")
dead_units = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dead_units)

CFG = ModelConfig(sdf_hidden=32, sdf_layers=3, sdf_skip=(2,), pe_freqs=2, feature_dim=4, weight_norm=False,
                  scene_kind="lowrank", rank=4, sdf_scene_layers=2)


def _reference(net: SDFNetwork, x: torch.Tensor, scene: int) -> list[float]:
    """The same shares from forward hooks on the network's own forward pass (pre-activations of hidden layers)."""
    pre = []
    hooks = [layer.register_forward_hook(lambda m, i, o: pre.append(o.detach())) for layer in net.layers[:-1]]
    with torch.no_grad():
        net(x, scene)
    for h in hooks:
        h.remove()
    return [float(((p > 0).float().mean(0) > 1e-3).float().mean()) for p in pre]


def test_alive_fractions_match_the_networks_own_forward_pass():
    net = SDFNetwork(CFG, n_scenes=3, generator=torch.Generator().manual_seed(0))
    x = torch.rand(500, 3) * 2 - 1
    for scene in range(3):
        assert dead_units.alive_fractions(net, x, scene) == _reference(net, x, scene)


def test_a_layer_pushed_negative_reads_dead():
    net = SDFNetwork(replace(CFG, scene_kind="shared"), n_scenes=1, generator=torch.Generator().manual_seed(0))
    x = torch.rand(500, 3) * 2 - 1
    layer = net.layers[1]
    with torch.no_grad():  # layer 1's bias far below anything its inputs can reach: no unit is ever positive
        layer.theta[-layer.out_features:] = -100.0  # theta = [W, b] without weight norm
    shares = dead_units.alive_fractions(net, x, 0)
    assert shares[1] == 0.0 and shares[0] > 0.5
    assert float(F.softplus(torch.tensor(-100.0 * 0.5), beta=100)) < 1e-20  # what "dead" means for Softplus 100

