"""Checkpoints: one safetensors file holding model weights, optimizer state and (as metadata) the JSON
config and progress. One file, replaced atomically, so a kill never leaves a torn checkpoint.

Nothing is unpickled: safetensors stores raw tensors, metadata is JSON text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from neuhead.errors import InputError
from neuhead.io import atomic_path


@dataclass
class Checkpoint:
    """What a checkpoint holds. ``tensors`` keys: ``model.<name>`` and ``optim.<...>``; ``meta`` is JSON."""

    tensors: dict[str, torch.Tensor]
    meta: dict

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[len("model."):]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def prefixed(self, prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str = "optim.") -> tuple[dict[str, torch.Tensor], dict]:
    """Flatten an optimizer's state into tensors + a JSON-able description of its param groups."""
    sd = opt.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"{prefix}{pid}.{k}"] = t.detach().clone().contiguous()
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups}


def load_optimizer(opt: torch.optim.Optimizer, ckpt: Checkpoint, meta_key: str = "optim", prefix: str = "optim.") -> None:
    state: dict[int, dict] = {}
    for k, v in ckpt.prefixed(prefix).items():
        pid, name = k.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    groups = ckpt.meta[meta_key]["param_groups"]
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(path: str | Path, model: torch.nn.Module, meta: dict,
                    extra_tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write model weights (+ extra tensors, e.g. optimizer state) and JSON meta atomically: the file at
    ``path`` is only ever replaced by a complete, fsynced checkpoint. Disk full or any other write
    failure raises ``WriteError`` naming ``path`` and leaves no temporary file."""
    tensors = {f"model.{k}": v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    tensors.update(extra_tensors or {})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"neuhead": json.dumps(meta)})
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    return Path(path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; InputError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get("neuhead")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several classes for a bad header
        raise InputError(f"{path}: not a neuhead checkpoint ({e.__class__.__name__}: {e})") from None
    if meta_text is None:
        raise InputError(f"{path}: safetensors file without neuhead metadata")
    try:
        meta = json.loads(meta_text)
    except ValueError as e:
        raise InputError(f"{path}: checkpoint metadata is not valid JSON ({e}); the file is damaged or "
                         "was not written by neuhead") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: checkpoint metadata is JSON {type(meta).__name__}, expected an object")
    return Checkpoint(tensors, meta)
