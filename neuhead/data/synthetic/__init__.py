"""Synthetic multi-view heads from the ICT-FaceKit model: sampler, appearance, ray-cast renderer, rigs."""

from neuhead.data.synthetic.head import HeadConfig, load_head_model
from neuhead.data.synthetic.render import SynthRenderConfig
from neuhead.data.synthetic.rigs import PORTRAIT, RIG_360, RIGS, RigConfig
from neuhead.data.synthetic.scene import HeadGroundTruth, SynthConfig, SynthHead, make_head_scene, synthesize

__all__ = ["HeadConfig", "SynthRenderConfig", "RigConfig", "PORTRAIT", "RIG_360", "RIGS", "SynthConfig",
           "HeadGroundTruth", "SynthHead", "make_head_scene", "synthesize", "load_head_model"]
