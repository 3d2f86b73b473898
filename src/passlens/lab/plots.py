"""Figures of lab runs and of the reproduced claims (matplotlib, imported lazily, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._output import write_file

__all__ = ["require_matplotlib", "plot_run", "plot_claims", "TRAJECTORY_PANELS"]

#: (column, title) of the trajectory panels of :func:`plot_run` (the gap and pass@k use k_ref).
TRAJECTORY_PANELS = (
    ("pass@1", "pass@1"),
    ("pass@{k}", "pass@{k}"),
    ("gap@{k}", "gap pass@{k} − pass@1"),
    ("distinct_correct", "correct answers with π > ε"),
    ("coverage@{k}", "coverage@{k}"),
    ("entropy", "policy entropy (nats)"),
)


def require_matplotlib() -> Any:
    """Import matplotlib with the Agg backend; ValueError with one line if it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("figures need matplotlib: pip install 'passlens[plot]' (or pass --no-plots)") from None
    return plt


def _save(fig: Any, path: Path) -> None:
    """``fig`` as a PNG at ``path``, written atomically (:func:`passlens._output.write_file`), then closed."""
    import matplotlib.pyplot as plt

    try:
        write_file(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
    finally:
        plt.close(fig)


def plot_run(df: Any, out: str | Path, k_ref: int = 8) -> list[Path]:
    """Trajectories (seed mean with a min–max band across seeds) of every objective.

    Args:
      df: polars DataFrame of a lab run (objective, seed, step, metrics…).
      out: directory; writes ``trajectories.png``.
      k_ref: the run's reference budget.

    Returns:
      paths written.
    """
    import polars as pl

    plt = require_matplotlib()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    for ax, (col, title) in zip(axes.ravel(), TRAJECTORY_PANELS):
        col, title = col.format(k=k_ref), title.format(k=k_ref)
        if col not in df.columns:
            ax.set_visible(False)
            continue
        for obj in df["objective"].unique(maintain_order=True).to_list():
            g = (
                df.filter(pl.col("objective") == obj)
                .group_by("step")
                .agg(pl.col(col).mean().alias("m"), pl.col(col).min().alias("lo"), pl.col(col).max().alias("hi"))
                .sort("step")
            )
            x = g["step"].to_numpy()
            (line,) = ax.plot(x, g["m"].to_numpy(), label=obj)
            ax.fill_between(x, g["lo"].to_numpy(), g["hi"].to_numpy(), color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("step")
    axes.ravel()[0].legend(fontsize=8)
    path = d / "trajectories.png"
    _save(fig, path)
    return [path]


def plot_claims(results: Sequence[Any], out: str | Path) -> list[Path]:
    """Figures of the reproduced claims: α_k (4), single-prompt collapse (9), paths (10), N1 trajectories.

    Args:
      results: :class:`passlens.lab.claims.ClaimResult` list.
      out: directory.

    Returns:
      paths written.
    """
    plt = require_matplotlib()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    by = {r.id: r for r in results}
    written: list[Path] = []
    if "4" in by:
        data = by["4"].data
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        for k, a in data["alpha"].items():
            ax.plot(data["p"], a, label=f"k={k}")
        ax.set_xlabel("J_1 = p")
        ax.set_ylabel("α_k = k(1−p)^{k−1}")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.legend(fontsize=8)
        ax.set_title("claim 4: the pass@k gradient weight")
        written.append(d / "claim04_alpha.png")
        _save(fig, written[-1])
    sp = next((r.data["single_prompt"] for r in results if "single_prompt" in r.data), None)
    if sp is not None:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), constrained_layout=True)
        for name, tr in sp.items():
            steps = [s["step"] for s in tr]
            axes[0].plot(steps, [s["p"] for s in tr], label=name)
            axes[1].plot(steps, [s["Hc"] for s in tr], label=name)
            axes[2].plot(steps, [s["gap8"] for s in tr], label=name)
        for ax, t in zip(axes, ("J_1", "entropy among correct answers", "gap pass@8 − pass@1")):
            ax.set_title(t)
            ax.set_xlabel("step")
            ax.set_xscale("symlog", linthresh=10)
        axes[0].legend(fontsize=8)
        written.append(d / "claim09_collapse.png")
        _save(fig, written[-1])
    if "10" in by and by["10"].data.get("paths"):
        paths = by["10"].data["paths"]
        v = np.asarray(paths["v"])
        fig, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
        ci = np.flatnonzero(v)[:2]
        for name in ("pass@1", "pass@8", "coverage@8"):
            z = np.asarray(paths[name])
            ax.plot(z[:, ci[0]] - z[:, ~v].mean(1), z[:, ci[1]] - z[:, ~v].mean(1), label=name, linestyle="--" if name == "pass@8" else "-")
        ax.set_xlabel("logit of correct answer 1 (rel. to wrong mean)")
        ax.set_ylabel("logit of correct answer 2")
        ax.legend(fontsize=8)
        ax.set_title("claim 10: one path, two speeds")
        written.append(d / "claim10_paths.png")
        _save(fig, written[-1])
    if "N1" in by and by["N1"].data.get("traj"):
        traj = by["N1"].data["traj"]
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), constrained_layout=True)
        for obj in dict.fromkeys(r["objective"] for r in traj):
            rows = [r for r in traj if r["objective"] == obj]
            x = [r["pass@1"] for r in rows]
            axes[0].plot([r["step"] for r in rows], x, label=obj)
            axes[1].plot(x, [r["distinct_correct"] for r in rows], label=obj)
            axes[2].plot(x, [r["gap@8"] for r in rows], label=obj)
        axes[0].set_title("pass@1 vs step")
        axes[1].set_title("distinct correct answers vs pass@1")
        axes[2].set_title("gap@8 vs pass@1")
        axes[0].legend(fontsize=8)
        written.append(d / "N1_coverage_vs_rloo_pkpo.png")
        _save(fig, written[-1])
    return written
