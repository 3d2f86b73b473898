"""The driver stage of an engine read alone: the engine's collected per-problem cells → tables.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_driver.py --problems 3000000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_driver.py --problems 3000000 --inputs 4 --compare /tmp/old/src

No engine runs: a stand-in runner returns, for the one group-by of the happy path, a seeded frame
shaped like what DuckDB / polars return (``_id`` text ``prob-0001234`` in hash order, ``n``, ``c``
and the row-check sums as Int64). ``--inputs T`` makes T inputs of one run (a ``model`` column
with one value, so they pool into one group): every problem then comes as up to T partial cells,
one per input, which the driver merges. What is timed is ``read_engine`` on that runner: every
check, the merge, the sort by id and the :class:`ProblemTable`. Each repetition runs in a fresh
process (one per code tree with ``--compare``, alternating), and the script prints CPU and wall
seconds of the stage, and the digest of the id-sorted (id, n, c) table and the vote counts (equal
across trees). ``--answers K`` adds an answer column: 1 to K answer cells per problem and input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any

SEED = 20241207


def cells(problems: int, inputs: int, answers: int = 0) -> Any:
    """Per-input per-problem cells: ``inputs`` = 1 gives one row per problem; more gives each
    problem a random nonempty subset of the inputs (as shards of rows in random order do);
    ``answers`` > 0 gives each (input, problem) 1 to ``answers`` cells, one per distinct answer."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED)
    width = len(str(problems - 1))
    pid = np.arange(problems)
    f = np.zeros(problems, dtype=np.int64)
    if inputs > 1:  # each problem in ~inputs/2 inputs
        mask = rng.random((problems, inputs)) < 0.5
        mask[np.arange(problems), rng.integers(0, inputs, problems)] = True
        pid, f = np.nonzero(mask)
    a = np.zeros(len(pid), dtype=np.int64)
    if answers:
        k = rng.integers(1, answers + 1, len(pid))
        pid, f = np.repeat(pid, k), np.repeat(f, k)
        a = np.arange(len(pid)) - np.repeat(np.cumsum(k) - k, k)  # 0 … k-1 within each cell
    order = rng.permutation(len(pid))  # hash order, not id order
    pid, f, a = pid[order], f[order].astype(np.int64), a[order]
    n = rng.integers(1, 9, len(pid))
    c = rng.binomial(n, 0.4)
    df = pl.DataFrame({"pid": pid, "_f": f, "a": a, "n": n, "c": c}).select(
        pl.format("prob-{}", pl.col("pid").cast(pl.String).str.zfill(width)).alias("_id"),
        "_f",
        *([pl.format("answer {}", "a").alias("_a")] if answers else []),
        pl.col("n").cast(pl.Int64),
        pl.col("c").cast(pl.Int64),
    )
    return df


def _child(problems: int, inputs: int, answers: int) -> None:
    import narwhals.stable.v2 as nw
    import polars as pl

    from passlens.io.columns import Options
    from passlens.io.engines.aggregate import read_engine
    from passlens.io.engines.runners import Runner

    frame = cells(problems, inputs, answers)

    class Collected(Runner):
        """Answers the happy path's group-by with ``frame`` (columns it lacks: 0, the model 'm')."""

        name = "stand-in"

        def schema(self, i: int) -> dict[str, Any]:
            schema = {"problem_id": nw.String, "reward": nw.Int64}
            return schema | ({"answer": nw.String} if answers else {}) | ({"model": nw.String} if inputs > 1 else {})

        def aggregate(self, keys: Any, spec: Any) -> pl.DataFrame:
            fill = {"min": pl.lit("m"), "max": pl.lit("m")}
            out = frame if keys.several else frame.drop("_f")
            return out.with_columns(
                fill.get(op, pl.lit(0, pl.Int64)).alias(name) for name, op, _ in spec.aggs if name not in out.columns
            )

    opts = Options(None, None, None, None, "answer" if answers else None, None, None, None, False, None)
    labels = [f"part-{i}.parquet" for i in range(inputs)]
    runner = Collected([None] * inputs, labels, [None] * inputs)
    c0, t0 = time.process_time(), time.perf_counter()
    ds = read_engine(runner, labels, opts)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    (t,) = ds.groups.values()
    ids = pl.Series(t.ids, dtype=pl.String)
    assert ids.is_sorted(), "ids not sorted"
    table = pl.DataFrame({"id": ids, "n": t.n, "c": t.c})
    h = hashlib.sha256(table.write_csv(include_header=False).encode())
    for v in t.votes or []:
        h.update(v.tobytes() + b"|")
    digest = h.hexdigest()[:16]
    print(json.dumps({"cpu": cpu, "wall": wall, "problems": len(t.ids), "cells": frame.height, "digest": digest}))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--problems", type=int, default=3_000_000)
    ap.add_argument("--inputs", type=int, default=1, help="inputs of one run (partial cells per problem)")
    ap.add_argument("--answers", type=int, default=0, help="distinct answers per problem and input, up to")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--compare", default="", help="another tree's src/ to time alternately (e.g. the code before)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.problems, a.inputs, a.answers)
        return
    trees = {"this": os.environ.get("PYTHONPATH", "")}
    if a.compare:
        trees = {"compare": a.compare, **trees}
    seen: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    for _ in range(a.reps):
        for name, path in trees.items():
            cmd = [sys.executable, __file__, "--child", "--problems", str(a.problems), "--inputs", str(a.inputs),
                   "--answers", str(a.answers)]
            out = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, check=False)
            if out.returncode:
                sys.exit(f"{name}: {out.stderr.strip()[-2000:]}")
            seen[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(name, seen[name][-1], flush=True)
    for name, runs in seen.items():
        cpu = sorted(r["cpu"] for r in runs)
        wall = sorted(r["wall"] for r in runs)
        p = runs[0]["problems"]
        print(
            f"{name}: {p} problems from {runs[0]['cells']} cells; stage CPU s min {cpu[0]:.2f} median "
            f"{cpu[len(cpu) // 2]:.2f} ({cpu[0] / p * 1e6:.2f} µs a problem); wall s min {wall[0]:.2f}; "
            f"digest {runs[0]['digest']}"
        )


if __name__ == "__main__":
    main()
