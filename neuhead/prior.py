"""The shipped prior: a meta-learned MultiNeuS saved as safetensors + JSON config + model card.

``assets/prior/``: ``prior.safetensors`` (weights only, no optimizer), ``config.json`` (the MetaConfig
it was trained with, the number of scenes, training facts) and ``MODEL_CARD.md``.
Loading never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from neuhead.config import MetaConfig, from_dict, to_dict
from neuhead.errors import InputError
from neuhead.io import atomic_path, write_json
from neuhead.model.multineus import MultiNeuS

DEFAULT_PRIOR = Path(__file__).resolve().parent / "assets" / "prior"
"""the shipped prior: ``neuhead/assets`` is the repository's ``assets/`` (a symlink) in a checkout, package data in a wheel"""
WEIGHTS, CONFIG = "prior.safetensors", "config.json"


@dataclass
class Prior:
    model: MultiNeuS
    config: MetaConfig
    info: dict


def save_prior(model: MultiNeuS, cfg: MetaConfig, out_dir: str | Path, info: dict) -> Path:
    """Write weights (background field dropped: fitting uses masks) and config to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items() if not k.startswith("background.")}
    with atomic_path(out_dir / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    write_json(out_dir / CONFIG, {"meta_config": to_dict(cfg), "n_scenes": model.n_scenes, "info": info})
    return out_dir


def load_prior(path: str | Path | None = None) -> Prior:
    """Load a prior folder (default: the shipped one). InputError when it is missing or malformed."""
    path = Path(path) if path is not None else DEFAULT_PRIOR
    w, c = path / WEIGHTS, path / CONFIG
    if not w.is_file() or not c.is_file():
        raise InputError(f"{path}: no prior here (expected {WEIGHTS} and {CONFIG}); use --no-prior to fit from scratch")
    try:
        meta = json.loads(c.read_text())
    except (ValueError, OSError) as e:
        raise InputError(f"{c}: prior config is not readable JSON ({e.__class__.__name__}: {e})") from None
    try:
        state = load_file(str(w))
    except (SafetensorError, OSError, ValueError) as e:  # truncated / not safetensors / unreadable
        raise InputError(f"{w}: not a valid safetensors weights file ({_one_line(e)})") from None
    try:
        if not isinstance(meta, dict):
            raise ValueError(f"config is a JSON {type(meta).__name__}, expected an object")
        cfg = from_dict(MetaConfig, meta["meta_config"])
        model = MultiNeuS(cfg.model, n_scenes=int(meta["n_scenes"]), background=False)
        model.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError, TypeError) as e:
        raise InputError(f"{path}: prior cannot be loaded ({e.__class__.__name__}: {_one_line(e)})") from None
    model.eval()
    return Prior(model, cfg, meta.get("info", {}))


def _one_line(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def model_from_meta_checkpoint(path: str | Path) -> tuple[MultiNeuS, MetaConfig, dict]:
    """The model, config and meta of a meta-learning checkpoint (``RUN_DIR/meta.safetensors``)."""
    from neuhead.train.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    cfg = from_dict(MetaConfig, ck.meta["config"])
    model = MultiNeuS(cfg.model, n_scenes=int(ck.meta["n_scenes"]), background=cfg.background_field)
    model.load_state_dict(ck.model_state())
    return model, cfg, ck.meta


def load_model(path: str | Path) -> MultiNeuS:
    """The network of a prior folder or of a meta-learning checkpoint (a path ending in ``.safetensors``)."""
    return model_from_meta_checkpoint(path)[0] if str(path).endswith(".safetensors") else load_prior(path).model
