"""Running the meta-learning loop on several processes with ``torch.distributed``.

Two ways in: ``torchrun --nproc_per_node N -m neuhead.cli train ...`` (the environment carries
RANK/WORLD_SIZE/MASTER_ADDR) or ``neuhead train --workers N`` which spawns N local processes.
Backend: NCCL when every rank has a GPU, gloo otherwise (CPU).
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def backend() -> str:
    return "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"


def init_from_env() -> bool:
    """Join the process group described by torchrun's environment; False when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    dist.init_process_group(backend())
    if backend() == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def _worker(rank: int, world: int, init_file: str, threads: int, fn: Callable, args: tuple) -> None:
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        fn(*args)
    finally:
        dist.destroy_process_group()


def spawn(fn: Callable, args: tuple, workers: int, threads_per_worker: int | None = None) -> None:
    """Run ``fn(*args)`` on ``workers`` local gloo processes (CPU). ``fn`` must be importable (picklable)."""
    threads = threads_per_worker or max(1, torch.get_num_threads() // workers)
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(_worker, args=(workers, os.path.join(d, "pg"), threads, fn, args), nprocs=workers, join=True)
