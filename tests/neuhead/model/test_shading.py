"""The SH-shaded radiance network (``ModelConfig.shading = "sh"``)."""

import numpy as np
import torch

from neuhead import sh
from neuhead.config import ModelConfig
from neuhead.data.synthetic.appearance import shade
from neuhead.model.fields import shade_albedo, sh_irradiance
from neuhead.model.multineus import MultiNeuS
from neuhead.model.scene_linear import MEAN_SCENE
from neuhead.train.fit import _keep_scene_rows

SMALL = ModelConfig(sdf_hidden=32, sdf_layers=3, sdf_skip=(2,), pe_freqs=2, feature_dim=8, rgb_hidden=16, rgb_layers=2,
                    rank=4, sdf_scene_layers=2, rgb_scene_layers=1, weight_norm=False, shading="sh")


def _unit(n: int, seed: int = 0) -> np.ndarray:
    return sh.sphere_directions(n, seed)


def test_sh_holds_the_synthetic_renderers_lighting():
    """Least-squares SH coefficients of the renderer's unshadowed wrap-Lambert irradiance reproduce its colours
    (``appearance.shade``, the training look's light and ambient) to two grey levels in 255 on average; the most
    is at the shadow line, where SH smooth the clamp."""

    class App:  # the fields ``shade`` reads
        light_dir = np.array([0.4, 0.5, 0.77]) / np.linalg.norm([0.4, 0.5, 0.77])
        ambient, light, light_color = 0.35, 0.8, np.array([1.05, 1.0, 0.95])

    n = _unit(4000)
    grey = np.full((len(n), 3), 0.5)
    irradiance = shade(grey, n, np.ones(len(n)), App) ** 2.2 / 0.5**2.2  # the renderer's linear irradiance
    coeffs = sh.fit_coefficients(n, irradiance)
    albedo = np.random.default_rng(1).uniform(0.2, 0.8, (len(n), 3))
    ours = shade_albedo(torch.from_numpy(albedo), sh_irradiance(torch.from_numpy(n), torch.from_numpy(coeffs))).numpy()
    ref = shade(albedo, n, np.ones(len(n)), App)
    assert np.abs(ours - ref).max() < 0.05 and np.abs(ours - ref).mean() < 0.01


def test_the_basis_is_the_same_in_numpy_and_torch():
    n = _unit(30)
    np.testing.assert_allclose(sh.basis(torch.from_numpy(n)).numpy(), sh.basis(n), rtol=0, atol=1e-12)


def test_an_unlit_scene_renders_its_albedo_and_the_normal_changes_only_the_shading():
    torch.manual_seed(0)
    m = MultiNeuS(SMALL, n_scenes=2)
    x, feat = torch.randn(50, 3), torch.randn(50, 8)
    n1, n2 = torch.from_numpy(_unit(50, 1)).float(), torch.from_numpy(_unit(50, 2)).float()
    c1, c2 = m.color(x, n1, feat, scene=0), m.color(x, 3.0 * n2, feat, scene=0)  # E = 1: the normal does not matter
    torch.testing.assert_close(c1, c2)
    with torch.no_grad():
        m.rgb_net.light[0, 3] = 0.5  # a light along +z
    lit = m.color(x, n1, feat, scene=0)
    brighter = (n1[:, 2] > 0.2)
    assert (lit[brighter] >= c1[brighter] - 1e-6).all() and (lit[n1[:, 2] < -0.2] <= c1[n1[:, 2] < -0.2] + 1e-6).all()


def test_the_lighting_is_a_scene_parameter_and_a_new_scene_starts_at_the_mean():
    m = MultiNeuS(SMALL, n_scenes=3)
    assert any(p is m.rgb_net.light for p in m.scene_parameters())
    assert not any(p is m.rgb_net.light for p in m.shared_color_parameters())
    with torch.no_grad():
        m.rgb_net.light.normal_()
    mean = m.rgb_net.light.detach().mean(0).clone()
    torch.testing.assert_close(m.rgb_net.scene_light(MEAN_SCENE), mean)
    k = m.add_scene()
    torch.testing.assert_close(m.rgb_net.light[k], mean)
    x = torch.randn(20, 3)
    loss = m.color(x, torch.randn(20, 3), torch.randn(20, 8), scene=k).sum()
    loss.backward()
    _keep_scene_rows(m, k)  # a scene-only fitting stage: only the new scene's lighting row has a gradient
    g = m.rgb_net.light.grad
    assert g[k].abs().sum() > 0 and g[:k].abs().sum() == 0


def test_the_default_network_still_sees_the_normal():
    m = MultiNeuS(ModelConfig(**{**SMALL.__dict__, "shading": "none"}), n_scenes=1)
    assert not hasattr(m.rgb_net, "light")
    x, feat = torch.randn(10, 3), torch.randn(10, 8)
    assert not torch.allclose(m.color(x, torch.randn(10, 3), feat), m.color(x, torch.randn(10, 3), feat))
