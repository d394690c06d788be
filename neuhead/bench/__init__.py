"""The H3DS benchmark: ``runner`` fits and scores every scene of an H3DS root, ``table`` lays the results out
like the paper's Table 1."""

from neuhead.bench.runner import (BenchConfig, SceneSpec, ViewSetup, default_fitter, read_h3ds_config,
                                  run_h3ds_bench, score_prediction, view_setups)
from neuhead.bench.table import PUBLISHED, BenchTable, JobResult, write_table

__all__ = ["BenchConfig", "SceneSpec", "ViewSetup", "default_fitter", "read_h3ds_config", "run_h3ds_bench",
           "score_prediction", "view_setups", "PUBLISHED", "BenchTable", "JobResult", "write_table"]
