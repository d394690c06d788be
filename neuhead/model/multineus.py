"""MultiNeuS: N scenes sharing SDF/radiance networks whose first layers are scene-specific.

A single-scene NeuS is ``MultiNeuS(cfg with scene_kind="shared", n_scenes=1)``.
"""

from __future__ import annotations

import torch
from torch import nn

from neuhead.config import ModelConfig
from neuhead.model.fields import BackgroundField, RadianceNetwork, SDFNetwork
from neuhead.model.scene_linear import SceneLinear
from neuhead.numerics import flush_denormals


class MultiNeuS(nn.Module):
    def __init__(self, cfg: ModelConfig, n_scenes: int = 1, background: bool = False, seed: int = 0) -> None:
        super().__init__()
        flush_denormals()  # every fit, training and evaluation builds its model here (neuhead.numerics)
        gen = torch.Generator().manual_seed(seed)
        self.cfg = cfg
        self.sdf_net = SDFNetwork(cfg, n_scenes, gen)
        self.rgb_net = RadianceNetwork(cfg, n_scenes, gen)
        #: per-scene learnable variance v (inv_s = exp(10 v)); row i belongs to scene i
        self.variance = nn.Parameter(torch.full((n_scenes,), cfg.init_variance))
        self.background = BackgroundField(cfg, n_scenes, gen) if background else None

    # --- scenes -----------------------------------------------------------------------------------
    @property
    def n_scenes(self) -> int:
        return self.variance.shape[0]

    def scene_layers(self) -> list[SceneLinear]:
        return [m for m in self.modules() if isinstance(m, SceneLinear)]

    def scene_parameters(self) -> list[nn.Parameter]:
        """Parameters with one row per scene: scene-specific weights/coefficients, the variance and, with
        ``ModelConfig.shading == "sh"``, the lighting."""
        params = [self.variance] + ([self.rgb_net.light] if self.rgb_net.shaded else [])
        for layer in self.scene_layers():
            params += layer.scene_parameters()
        return params

    def shared_color_parameters(self) -> list[nn.Parameter]:
        """The radiance network's weights that all scenes share (its scene-specific rows excluded)."""
        ids = {id(p) for p in self.scene_parameters()}
        return [p for p in self.rgb_net.parameters() if id(p) not in ids]

    def shared_parameters(self) -> list[nn.Parameter]:
        ids = {id(p) for p in self.scene_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    @torch.no_grad()
    def add_scene(self) -> int:
        """Append a scene whose own parameters are the mean of the existing scenes'. Returns its index.

        The background field (meta-learning only) is not extended: fitting uses masks instead.
        """
        for layer in self.scene_layers():
            if self.background is not None and any(layer is m for m in self.background.modules()):
                continue
            layer.add_scene()
        self.variance = nn.Parameter(torch.cat([self.variance.data, self.variance.data.mean(0, keepdim=True)]))
        if self.rgb_net.shaded:
            light = self.rgb_net.light.data
            self.rgb_net.light = nn.Parameter(torch.cat([light, light.mean(0, keepdim=True)]))
        return self.n_scenes - 1

    def drop_background(self) -> None:
        self.background = None

    # --- evaluation -------------------------------------------------------------------------------
    def sdf(self, x: torch.Tensor, scene: int | str = 0) -> torch.Tensor:
        """Signed distance (n,) at unit-sphere points x (n, 3); ``scene_linear.MEAN_SCENE`` for the mean scene."""
        return self.sdf_net(x, scene)[0]

    def sdf_features_gradient(self, x: torch.Tensor, scene: int = 0, create_graph: bool = True):
        """(sdf (n,), features (n, F), gradient (n, 3)) at points x; gradient via autograd.

        When x already carries a graph (rays from refined cameras), it is kept, so the loss reaches the
        cameras through the SDF as well as through the colour network.
        """
        with torch.enable_grad():
            tracked = x.requires_grad
            if not tracked:
                x = x.detach().requires_grad_(True)
            sdf, feat = self.sdf_net(x, scene)
            (grad,) = torch.autograd.grad(sdf.sum(), x, create_graph=create_graph or tracked)
        return sdf, feat, grad

    def color(self, x, normals, features, dirs=None, scene: int = 0) -> torch.Tensor:
        return self.rgb_net(x, normals, features, dirs, scene)

    def inv_s(self, scene: int = 0) -> torch.Tensor:
        return torch.exp(self.variance[scene] * 10.0).clamp(1e-6, 1e6)


class SDFModule(nn.Module):
    """One scene's SDF as a standalone module ``(n, 3) unit-frame points -> (n,)`` (for export/tracing)."""

    def __init__(self, model: MultiNeuS, scene: int) -> None:
        super().__init__()
        self.model = model
        self.scene = scene

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.sdf(x, self.scene)
