"""Inputs and outputs of the report: which groups to read, and the atomic write of the report folder."""

from __future__ import annotations

import csv
import io as _stdio
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Sequence

from .._output import resolve_target

__all__ = ["load_groups", "write_report", "check_out_dir", "RUN_EXTENSIONS"]

#: File kinds read from a run directory's ``evals/`` folder; ``.json`` is left out on purpose: the
#: trainer writes a per-step summary ``step_XXXXXX.json`` next to each row file ``step_XXXXXX.parquet``.
RUN_EXTENSIONS = (".parquet", ".pq", ".jsonl", ".ndjson", ".csv")


def load_groups(
    paths: Sequence[str | Path],
    *,
    by: str | None = None,
    threshold: float | None = None,
    **columns: Any,
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """Read the report's groups.

    * no path: the bundled DeepScaleR counts, base (A) vs RL (B);
    * one directory with an ``evals/`` subfolder (a training run): every row file in it
      (:data:`RUN_EXTENSIONS`; the per-step ``.json`` summaries are not rows), grouped by ``by``
      (default ``"step"``);
    * several files without ``by``: one group per file, in the order given (the first is A);
    * otherwise: :func:`passlens.io.read` of all paths with ``by``.

    Args:
      paths: input paths (may be empty).
      by: grouping column.
      threshold: reward ≥ threshold counts as correct.
      columns: column overrides passed to :func:`passlens.io.read` (id_col, reward_col, …).

    Returns:
      (groups: label → ProblemTable in report order, inputs: {"files", "sha256", "notes", "source"},
      label_name: what the labels are, e.g. "step", "model", "file", or None).
    """
    import passlens.io as pio

    cols = {k: v for k, v in columns.items() if v is not None}
    given = [str(p) for p in paths]  # read as given: Path() would turn an engine's 's3://b/x' into 's3:/b/x'
    path_list: list[Path] = [Path(p) for p in paths]
    if not path_list:
        base, rl = pio.bundled_deepscaler()
        groups, inputs = _per_file([base, rl], ["base", "rl"], threshold, cols)
        inputs["source"] = (
            "bundled DeepScaleR counts: base = DeepSeek-R1-Distill-Qwen-1.5B, rl = DeepScaleR-1.5B-Preview "
            "(1060 prompts, n = 128)"
        )
        return groups, inputs, "model"
    if len(path_list) == 1 and path_list[0].is_dir():
        evals = path_list[0] / "evals"
        if not evals.is_dir():
            raise ValueError(f"{path_list[0]}: a directory, but not a run directory (no evals/ subfolder); give row files")
        files = sorted(p for p in evals.rglob("*") if p.is_file() and p.suffix.lower() in RUN_EXTENSIONS)
        if not files:
            raise ValueError(f"{evals}: no row files ({', '.join(RUN_EXTENSIONS)}) found")
        data = pio.read([str(f) for f in files], by=by or "step", threshold=threshold, **cols)
        inputs = {"files": data.files, "sha256": data.sha256, "notes": list(data.notes), "source": f"run {path_list[0]}"}
        n = _run_group_size(path_list[0], inputs["notes"])
        if n is not None:
            inputs["group_size"] = n
            inputs["source"] += f" (trained on groups of n = {n})"
        return dict(data.groups), inputs, by or "step"
    for p in path_list:
        if p.is_dir():
            raise ValueError(f"{p}: a directory; give row files, or one run directory with evals/")
    if len(path_list) > 1 and by is None:
        stems = [p.stem for p in path_list]
        labels = [s if stems.count(s) == 1 else f"{p.parent.name}/{s}" for s, p in zip(stems, path_list)]
        if len(set(labels)) != len(labels):
            labels = [f"{i + 1}:{s}" for i, s in enumerate(stems)]
        groups, inputs = _per_file(given, labels, threshold, cols)
        return groups, inputs, "file"
    data = pio.read(given, by=by, threshold=threshold, **cols)
    inputs = {"files": data.files, "sha256": data.sha256, "notes": list(data.notes)}
    return dict(data.groups), inputs, by


def _run_group_size(run: Path, notes: list[str]) -> int | None:
    """The training group size n of a ``passlens train`` run directory (its config.json), or None.

    None without a config.json (evals/ written by something else); a config.json without a
    usable n adds a note instead of failing the report, which needs only the evals.
    """
    import json

    path = run / "config.json"
    if not path.is_file():
        return None
    try:
        n = json.loads(path.read_text()).get("n")
    except (OSError, ValueError, AttributeError):
        n = None
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return n
    notes.append(f"{path}: no training group size n found; the zero-signal fraction uses the default G")
    return None


def _per_file(
    paths: Sequence[str | Path], labels: Sequence[str], threshold: float | None, cols: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    import passlens.io as pio

    groups: dict[str, Any] = {}
    files: list[str] = []
    sha: dict[str, str] = {}
    notes: list[str] = []
    for p, lab in zip(paths, labels):
        data = pio.read([str(p)], threshold=threshold, **cols)
        if len(data.groups) != 1:
            raise ValueError(
                f"{p}: holds {len(data.groups)} groups ({', '.join(data.groups)}); give one model per file or use --by"
            )
        groups[lab] = next(iter(data.groups.values()))
        files += data.files
        sha.update(data.sha256)
        notes += [f"{lab}: {n}" for n in data.notes]
    return groups, {"files": files, "sha256": sha, "notes": notes}


def _curves_csv(metrics: dict[str, Any]) -> str:
    buf = _stdio.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["group", "metric", "k", "estimate", "lo", "hi", "se", "problems", "method", "ci"])
    for g in metrics["labels"]:
        for met, cur in metrics["groups"][g]["curves"].items():
            for i, k in enumerate(cur["k"]):
                w.writerow([g, met, k, cur["estimate"][i], cur["lo"][i], cur["hi"][i], cur["se"][i],
                            cur["problems"][i], cur["method"], cur["ci"]])
    return buf.getvalue()


def _is_previous_report(path: Path) -> bool:
    entries = list(path.iterdir())
    return not entries or (path / "metrics.json").is_file()


def check_out_dir(out_dir: str | Path) -> Path:
    """Fail early (one-line ValueError) when ``out_dir`` cannot take a report; returns its absolute path.

    Accepted: a new path, an empty directory, or a previous report (a directory holding metrics.json),
    whose parent exists or can be created and is writable.
    """
    import os

    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out_dir}: exists and is not a directory")
    if out.is_dir() and not _is_previous_report(out):
        raise ValueError(f"--out {out_dir}: exists and is not a passlens report (no metrics.json); choose a new directory")
    anc = out.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir() or not os.access(anc, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out_dir}: cannot write to {anc} ({'not a directory' if not anc.is_dir() else 'permission denied'})")
    return out


def write_report(
    metrics: dict[str, Any], figures: dict[str, bytes], out_dir: str | Path, *, html: str | None = None
) -> Path:
    """Write metrics.json, curves.csv, the figure PNGs and (if given) report.html into ``out_dir``, atomically.

    The folder is built next to ``out_dir`` under a temporary name and then swapped in, so a
    reader sees either the old report or the new one; an existing ``out_dir`` must be empty or
    a previous report (holding metrics.json), and is replaced whole.

    Args:
      metrics: the JSON-ready metrics dict.
      figures: file name → PNG bytes.
      out_dir: destination folder.
      html: the page, or None for no report.html.

    Returns:
      the destination path.

    Raises:
      ValueError: one line, when the destination cannot be written or is not a report folder.
    """
    out = check_out_dir(out_dir)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        raise ValueError(f"--out {out_dir}: cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        text = json.dumps(metrics, indent=1, allow_nan=False, ensure_ascii=False)
        (tmp / "metrics.json").write_text(text + "\n", encoding="utf-8")
        (tmp / "curves.csv").write_text(_curves_csv(metrics), encoding="utf-8")
        for name, png in figures.items():
            (tmp / name).write_bytes(png)
        if html is not None:
            (tmp / "report.html").write_text(html, encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes 0700; a report folder is an ordinary folder
        if out.exists():
            old = parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)  # swap: rename is atomic within one file system
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"--out {out_dir}: cannot write the report: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
