"""Ingestion speed and memory: per-sample logs (Parquet, JSON lines, gzipped JSON lines) → per-problem (n, c).

    .venv/bin/python benchmarks/bench_ingest.py            # 10⁷ rows, 10⁵ problems
    .venv/bin/python benchmarks/bench_ingest.py --rows 1000000 --problems 10000
    .venv/bin/python benchmarks/bench_ingest.py --cases parquet   # only the cases whose name holds "parquet"

Generates seeded Parquet files into ``benchmarks/_data/`` (gitignored) when
absent, then times ``passlens.io.read`` in a fresh Python process per case and
reports its wall time, its CPU time (all threads; the honest number on a
shared machine, where wall time also counts other people's jobs) and peak
RSS. Peak RSS comes from
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by an intermediate
process whose only child is the measured one, so cases do not contaminate each
other. Ratios are against two baselines measured the same way:

* ``import only``: the same process imports passlens and polars but reads nothing
  (RSS floor of the interpreter + libraries);
* ``bare polars``: one streaming ``group_by(problem_id).agg(len, sum)`` over the
  same file, without any validation (time floor of the aggregation itself).

Cases: string ids / int ids with 0/1 rewards (the (n, c) path); string ids with
an answer column (adds vote tables; few distinct answers, or every wrong answer unique:
``ans-<random 63-bit int>``, as Parquet and as JSON lines); continuous rewards with a threshold, with
``keep_rewards=False`` ((n, c) only) and ``keep_rewards=True`` (adds sorted
per-problem reward arrays); the string-id 0/1 rows again as JSON lines, plain and
gzipped (polars decompresses gzip while it streams: memory should stay flat; the
bare baseline there is ``scan_ndjson`` with its default 100-line schema inference,
passlens infers from every line). Each case is run ``--repeat`` times; the run with the
median wall time is reported (best wall time in brackets), with the largest
peak RSS of all runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"


def _generate(
    path: Path, rows: int, problems: int, *, int_ids: bool, answers: bool | str, continuous: bool, fmt: str = "parquet"
) -> None:
    import numpy as np
    import polars as pl

    if fmt != "parquet":  # the same rows as the Parquet file of these options, as JSON lines (then gzipped)
        source = _file_for(dict(int_ids=int_ids, answers=answers, continuous=continuous), rows, problems)
        if not source.exists():
            _generate(source, rows, problems, int_ids=int_ids, answers=answers, continuous=continuous)
        tmp = path.with_suffix(".tmp")
        if fmt == "jsonl":
            pl.read_parquet(source).write_ndjson(tmp)
        else:
            opts = dict(int_ids=int_ids, answers=answers, continuous=continuous)
            plain = _file_for(dict(opts, fmt="jsonl"), rows, problems)
            if not plain.exists():
                _generate(plain, rows, problems, **opts, fmt="jsonl")
            with open(plain, "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
        os.replace(tmp, path)
        return

    rng = np.random.default_rng(20240601)
    p = rng.beta(0.5, 0.5, size=problems)  # per-problem success rate
    pid = rng.integers(0, problems, size=rows)  # rows in random problem order
    u = rng.random(rows)
    ok = u < p[pid]
    frame = pl.DataFrame({"pid": pid, "ok": ok, "u": u})
    exprs = []
    if int_ids:
        exprs.append(pl.col("pid").cast(pl.Int64).alias("problem_id"))
    else:
        exprs.append(pl.format("prob-{}", pl.col("pid").cast(pl.String).str.zfill(6)).alias("problem_id"))
    if continuous:
        exprs.append(
            pl.when(pl.col("ok")).then(0.5 + 0.5 * pl.col("u")).otherwise(0.5 * pl.col("u")).alias("reward")
        )
    else:
        exprs.append(pl.col("ok").cast(pl.Int64).alias("reward"))
    if answers == "unique":  # every wrong answer its own text: near-unique (problem, answer) cells
        frame = frame.with_columns(w=pl.Series(rng.integers(0, 2**63 - 1, size=rows, dtype=np.int64)))
        frame = frame.with_columns(pl.format("ans-{}", "w").alias("w"))
        exprs.append(pl.when(pl.col("ok")).then(pl.lit("42")).otherwise(pl.col("w")).alias("answer"))
    elif answers:
        wrong = pl.Series(rng.geometric(0.3, size=rows)).cast(pl.String)
        frame = frame.with_columns(wrong.alias("w"))
        exprs.append(pl.when(pl.col("ok")).then(pl.lit("42")).otherwise(pl.col("w")).alias("answer"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.select(exprs).write_parquet(tmp, row_group_size=1 << 20)
    os.replace(tmp, path)


CASES = {
    # name: (file options, read() keyword arguments)
    "str ids, 0/1 → (n, c)": (dict(int_ids=False, answers=False, continuous=False), {}),
    "int ids, 0/1 → (n, c)": (dict(int_ids=True, answers=False, continuous=False), {}),
    "str ids + answer → (n, c) + votes": (dict(int_ids=False, answers=True, continuous=False), {}),
    "str ids + unique answers → (n, c) + votes": (dict(int_ids=False, answers="unique", continuous=False), {}),
    "str ids + unique answers, JSON lines → (n, c) + votes": (
        dict(int_ids=False, answers="unique", continuous=False, fmt="jsonl"),
        {},
    ),
    "continuous, threshold 0.5 → (n, c)": (
        dict(int_ids=False, answers=False, continuous=True),
        {"threshold": 0.5, "keep_rewards": False},
    ),
    "continuous, threshold 0.5 → (n, c) + rewards": (
        dict(int_ids=False, answers=False, continuous=True),
        {"threshold": 0.5, "keep_rewards": True},
    ),
    "str ids, 0/1, JSON lines → (n, c)": (dict(int_ids=False, answers=False, continuous=False, fmt="jsonl"), {}),
    "str ids, 0/1, JSON lines gzip → (n, c)": (
        dict(int_ids=False, answers=False, continuous=False, fmt="jsonl.gz"),
        {},
    ),
}


def _file_for(opts: dict, rows: int, problems: int) -> Path:
    tag = (
        ("int" if opts["int_ids"] else "str")
        + ("_uniq" if opts["answers"] == "unique" else "_ans" if opts["answers"] else "")
        + ("_cont" if opts["continuous"] else "")
    )
    return DATA / f"samples_{rows}_{problems}_{tag}.{opts.get('fmt', 'parquet')}"


def _child(mode: str, path: str, kwargs: str) -> None:
    """Runs in the measured process: prints a JSON line with the timed section."""
    t0 = time.perf_counter()
    import polars as pl

    import passlens.io as pio

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    c1 = time.process_time()  # CPU of all threads: robust to other load on a shared machine
    if mode == "read":
        ds = pio.read(path, **json.loads(kwargs))
        (table,) = ds.groups.values()
        out = {"problems": int(table.n.size), "rows": int(table.n.sum()), "c": int(table.c.sum())}
    elif mode == "bare":
        scan = pl.scan_parquet if path.endswith(".parquet") else pl.scan_ndjson
        res = (
            scan(path)
            .group_by("problem_id")
            .agg(pl.len().alias("n"), pl.col("reward").sum().alias("c"))
            .collect(engine="streaming")
        )
        out = {"problems": res.height, "rows": int(res["n"].sum())}
    else:
        out = {}
    out["seconds"] = time.perf_counter() - t1
    out["cpu_seconds"] = time.process_time() - c1
    out["import_seconds"] = t_import
    print(json.dumps(out))


def _measure(mode: str, path: Path, kwargs: dict) -> dict:
    """Intermediate process: run one child, report its output and peak RSS."""
    cmd = [sys.executable, __file__, "--child", mode, str(path), json.dumps(kwargs)]
    wrapper = (
        "import resource, subprocess, sys, json, time;"
        f"t = time.perf_counter(); p = subprocess.run({cmd!r}, capture_output=True, text=True);"
        "w = time.perf_counter() - t;"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "sys.stderr.write(p.stderr);"
        "print(json.dumps({'child': p.stdout.strip(), 'rc': p.returncode, 'wall': w, 'maxrss_kib': r}))"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    outer = json.loads(proc.stdout)
    if outer["rc"] != 0:
        raise SystemExit(f"child failed ({mode} {path}):\n{proc.stderr}")
    res = json.loads(outer["child"])
    res["wall"] = outer["wall"]
    res["rss_mib"] = outer["maxrss_kib"] / 1024  # Linux reports KiB
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--problems", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    ap.add_argument("--cases", default="", help="run only the cases whose name (or file format) holds this text")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "KWARGS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return

    def median_of(mode: str, path: Path, kwargs: dict) -> dict:
        runs = sorted((_measure(mode, path, kwargs) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        mid = runs[len(runs) // 2]
        mid["rss_mib"] = max(r["rss_mib"] for r in runs)
        mid["best_seconds"] = runs[0]["seconds"]
        return mid

    load = os.getloadavg()[0]
    print(f"rows={args.rows:,} problems={args.problems:,} cpus={os.cpu_count()} load(1 min)={load:.1f}")
    floor = None
    print(
        "| case | read() wall s (best) | read() CPU s | bare polars wall s (best) | bare CPU s | CPU ratio "
        "| peak RSS MiB | RSS / import-only |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (fopts, kwargs) in CASES.items():
        path = _file_for(fopts, args.rows, args.problems)
        if args.cases and args.cases not in name and args.cases not in path.name:
            continue
        if not path.exists():
            t = time.perf_counter()
            _generate(path, args.rows, args.problems, **fopts)
            size = path.stat().st_size / 2**20
            print(f"(generated {path.name}, {size:.0f} MiB, in {time.perf_counter() - t:.1f} s)")
        if floor is None:
            floor = median_of("import", path, {})
        bare = median_of("bare", path, {})
        res = median_of("read", path, kwargs)
        assert res["rows"] == args.rows and res["problems"] == bare["problems"], (res, bare)
        print(
            f"| {name} | {res['seconds']:.2f} ({res['best_seconds']:.2f}) | {res['cpu_seconds']:.2f} "
            f"| {bare['seconds']:.2f} ({bare['best_seconds']:.2f}) "
            f"| {bare['cpu_seconds']:.2f} | {res['cpu_seconds'] / bare['cpu_seconds']:.2f} "
            f"| {res['rss_mib']:.0f} | {res['rss_mib'] / floor['rss_mib']:.1f} |"
        )
    print(
        f"import-only process: peak RSS {floor['rss_mib']:.0f} MiB, import {floor['import_seconds']:.2f} s "
        f"(not in the timings above); load(1 min) at end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
