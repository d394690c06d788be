"""The benchmark's results, laid out like the paper's Table 1: per job, per scene, means; Markdown, CSV,
JSON and a bar chart (``write_table``)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

#: published numbers (mm, face / full head) shown beside ours in the Markdown table and the plot
PUBLISHED = {
    1: {"Multi-NeuS (paper, 1 view)": {"face": 1.84, "head": 12.74},
        "H3D-Net (paper, 1 view)": {"face": 1.85, "head": 13.12}},
    3: {"H3D-Net (paper, 3 views)": {"face": 1.34, "head": 10.53}},
}



@dataclass(frozen=True)
class JobResult:
    """Scores of one (scene, view setup) job; face/head are NaN when it failed."""

    scene_id: str
    label: str
    views: tuple[int, ...]
    face: float
    head: float
    fit_seconds: float = math.nan
    eval_seconds: float = math.nan
    warnings: tuple[str, ...] = ()
    error: str | None = None
    eval_command: str = ""


@dataclass
class BenchTable:
    """All job results of a run, laid out like the paper's Table 1."""

    views: int
    preset: str
    labels: tuple[str, ...]
    scenes: list[str]
    jobs: list[JobResult] = field(default_factory=list)

    def value(self, scene: str, metric: str, label: str) -> float:
        for j in self.jobs:
            if j.scene_id == scene and j.label == label:
                return getattr(j, metric)
        return math.nan

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(metric, label) pairs: face F/L/R/mean then head F/L/R/mean (no 'mean' with one label)."""
        labels = list(self.labels) + (["mean"] if len(self.labels) > 1 else [])
        return [(m, lab) for m in ("face", "head") for lab in labels]

    def row(self, scene: str) -> list[float]:
        out = []
        for metric, label in self.columns:
            if label == "mean":
                vals = [self.value(scene, metric, lab) for lab in self.labels]
                out.append(float(np.mean(vals)) if all(np.isfinite(vals)) else math.nan)
            else:
                out.append(self.value(scene, metric, label))
        return out

    def mean_row(self) -> list[float]:
        """Column means over the scenes that finished (NaN if none did)."""
        if not self.scenes:
            return [math.nan] * len(self.columns)
        rows = np.array([self.row(s) for s in self.scenes], dtype=np.float64).reshape(len(self.scenes), -1)
        out = []
        for c in range(rows.shape[1]):
            col = rows[:, c][np.isfinite(rows[:, c])]
            out.append(float(col.mean()) if col.size else math.nan)
        return out

    def header(self) -> list[str]:
        return ["scene"] + [f"{m} {lab}" for m, lab in self.columns]

    def to_markdown(self) -> str:
        def fmt(x):
            return f"{x:.3f}" if np.isfinite(x) else "—"

        title = "1 view (frontal, left, right fitted separately)" if self.views == 1 else "3 views (frontal + left + right)"
        lines = [f"# H3DS benchmark: {title}, preset `{self.preset}`", "",
                 "Mean distance from each ground-truth vertex to the nearest predicted vertex, in mm, after the "
                 "H3DS toolbox's ICP. face = face_sphere (95 mm around the nose tip), head = full head.", "",
                 "| " + " | ".join(self.header()) + " |", "|" + "---|" * len(self.header())]
        for s in self.scenes:
            lines.append("| " + " | ".join([s] + [fmt(x) for x in self.row(s)]) + " |")
        n_done = sum(all(np.isfinite(self.row(s))) for s in self.scenes)
        lines.append("| " + " | ".join([f"**mean** ({n_done}/{len(self.scenes)} complete)"]
                                       + [f"**{fmt(x)}**" for x in self.mean_row()]) + " |")
        warned = [j for j in self.jobs if j.warnings and not j.error]
        if warned:
            lines += ["", "Warnings (the scores stand, but look at these meshes):"]
            lines += [f"- {j.scene_id} {j.label}: {w}" for j in warned for w in j.warnings]
        failed = [j for j in self.jobs if j.error]
        if failed:
            lines += ["", "Failed jobs (rerun the same command to retry them):"]
            lines += [f"- {j.scene_id} {j.label}: {j.error}" for j in failed]
        refs = PUBLISHED.get(self.views, {})
        if refs:
            lines += ["", "Published (real H3DS scans; not comparable with a synthetic root): "
                      + "; ".join(f"{k} face {v['face']} / head {v['head']}" for k, v in refs.items())]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.header())
        for s in self.scenes:
            w.writerow([s] + [f"{x:.6f}" if np.isfinite(x) else "" for x in self.row(s)])
        w.writerow(["mean"] + [f"{x:.6f}" if np.isfinite(x) else "" for x in self.mean_row()])
        return buf.getvalue()

    def to_json(self) -> dict:
        def num(x):
            return float(x) if np.isfinite(x) else None

        def as_dict(values):
            d: dict[str, dict[str, float | None]] = {"face": {}, "head": {}}
            for (m, lab), x in zip(self.columns, values):
                d[m][lab] = num(x)
            return d

        return {"views": self.views, "preset": self.preset, "units": "mm", "labels": list(self.labels),
                "rows": [{"scene": s, **as_dict(self.row(s))} for s in self.scenes],
                "mean": as_dict(self.mean_row()),
                "jobs": [{**asdict(j), "face": num(j.face), "head": num(j.head),
                          "fit_seconds": num(j.fit_seconds), "eval_seconds": num(j.eval_seconds)}
                         for j in self.jobs]}


# ----------------------------------------------------------------------------- reading the root


def _job_from_record(rec: dict) -> JobResult:
    def num(x):
        return math.nan if x is None else float(x)

    return JobResult(rec["scene_id"], rec["label"], tuple(rec["views"]), num(rec["face"]), num(rec["head"]),
                     num(rec.get("fit_seconds")), num(rec.get("eval_seconds")), tuple(rec.get("warnings", ())),
                     rec.get("error"), rec.get("eval_command", ""))


def write_table(table: BenchTable, out: str | Path) -> dict[str, Path]:
    """results.md / .csv / .json and the bar chart results.png (means over scenes), atomically."""
    from eval.plots import bar_chart
    from neuhead.io import atomic_path, write_json

    out = Path(out)
    paths = {"md": out / "results.md", "csv": out / "results.csv", "json": out / "results.json",
             "png": out / "results.png"}
    with atomic_path(paths["md"]) as tmp:
        tmp.write_text(table.to_markdown())
    with atomic_path(paths["csv"]) as tmp:
        tmp.write_text(table.to_csv())
    write_json(paths["json"], table.to_json())
    means = table.to_json()["mean"]
    groups = {m: {lab: (math.nan if v is None else v) for lab, v in cols.items()} for m, cols in means.items()}
    bar_chart(groups, paths["png"], title=f"H3DS, {table.views} view{'s' if table.views > 1 else ''}, "
                                          f"preset {table.preset} ({len(table.scenes)} scenes)",
              reference=PUBLISHED.get(table.views))
    return paths
