"""Engines at scale: a per-sample Parquet dataset → per-problem (n, c) through each engine.

    .venv/bin/python benchmarks/bench_engines.py --rows 10000000 --bare          # 10⁷ rows, 10⁶ problems
    .venv/bin/python benchmarks/bench_engines.py --rows 100000000 --bare --engines polars,duckdb

Generates seeded Parquet files into ``benchmarks/_data/engines_<rows>_<problems>/`` (gitignored;
deleted at the end unless ``--keep``): string ids ``prob-0000123`` for ``--problems`` problems, rows
in random problem order (the worst case for a partial aggregation: every row group holds most
problems), 0/1 rewards from per-problem Beta(½, ½) rates, ``--files`` files made of row groups of
2²⁰ rows, zstd. Generation writes one row group at a time (never more than 2²⁰ rows in memory); a
folder without its ``_complete`` marker (an interrupted generation) is made again.

Then, one engine at a time, a fresh process starts the engine's session and runs, in that order:

* ``read``: ``passlens.io.read("<folder>/*.parquet", engine=…)`` — the whole passlens path (column
  roles, row checks, the group-by, the tables);
* ``bare`` (with ``--bare``): the engine's own hand-written group-by of the same files, no passlens
  (no row checks, no narwhals): the floor of the aggregation itself. Same process, same session, run
  after ``read`` (so any warm-up — JIT, caches, Ray's workers — favours the baseline);
* ``inproc`` (polars, with ``--inproc``): ``from_frame`` of the files' polars LazyFrame, which is
  the in-process reader that names rows in its messages.

The parent samples the child's whole process tree (the driver, Spark's JVM, Ray's GCS, raylet and
workers) every 0.25 s and reports per phase

* ``start s``: the engine's session start (Spark's JVM, Ray's local cluster; ≈ 0 for polars, DuckDB);
* ``wall s`` of the phase, and the rows per second it makes;
* ``CPU s``: user + system time of the whole tree during the phase (processes that ended during it
  included) — the stable number on a shared machine, where wall time also counts other jobs;
  ``CPU s / 10⁷ rows`` is the per-core cost that docs/scale.md extrapolates from;
* ``peak RSS`` and ``peak PSS``: the largest sum over the tree of resident memory and of
  proportional set size (PSS divides pages shared between processes — Ray's object store in
  /dev/shm, shared libraries — among them, so it does not count them twice). A phase's peak
  includes what earlier phases left allocated (a JVM does not give its heap back);
* ``Σn``, ``Σc`` and ``digest``: the sums of the per-problem counts and a SHA-256 of the
  id-sorted (id, n, c) table — equal on every engine when they all count the same;
* for Spark, the shuffle each phase wrote (Spark's status store, kept with its UI off): bytes, map
  tasks and partial (problem, counts) rows — what a cluster sends over the network (docs/scale.md).

Spark runs ``local[2]`` (``SPARK_MASTER``; its heap with ``PYSPARK_SUBMIT_ARGS="--driver-memory 4g
pyspark-shell"``), Ray a local cluster of the machine's CPUs; Ray's baseline shuffles into as many
partitions as passlens asks for (2 × CPUs). An engine that fails or passes ``--timeout`` is a table
row saying what happened, and the next engine runs. Needs psutil.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
ROW_GROUP = 1 << 20
SEED = 20241207


def _generate(folder: Path, rows: int, problems: int, files: int) -> None:
    """``files`` Parquet files of row groups of 2²⁰ rows, written one row group at a time."""
    import numpy as np
    import polars as pl
    import pyarrow.parquet as pq

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    p = rng.beta(0.5, 0.5, size=problems)  # per-problem success rate
    width = len(str(problems - 1))
    per = -(-rows // files)
    for i in range(files):
        m = min(per, rows - i * per)
        path = folder / f"part-{i:04d}.parquet"
        writer = None
        for lo in range(0, m, ROW_GROUP):
            size = min(ROW_GROUP, m - lo)
            pid = rng.integers(0, problems, size=size)
            ok = rng.random(size) < p[pid]
            chunk = pl.DataFrame({"pid": pid, "ok": ok}).select(
                pl.format("prob-{}", pl.col("pid").cast(pl.String).str.zfill(width)).alias("problem_id"),
                pl.col("ok").cast(pl.Int64).alias("reward"),
            ).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, chunk.schema, compression="zstd")
            writer.write_table(chunk, row_group_size=ROW_GROUP)
        if writer is not None:
            writer.close()
    (folder / "_complete").write_text(json.dumps({"rows": rows, "problems": problems, "files": files, "seed": SEED}))


def _summary(ids: Any, n: Any, c: Any) -> dict[str, Any]:
    """Σn, Σc and a digest of the id-sorted (id, n, c) table."""
    import polars as pl

    df = pl.DataFrame({"id": list(ids), "n": n, "c": c}, schema={"id": pl.String, "n": pl.Int64, "c": pl.Int64})
    df = df.sort("id")
    digest = hashlib.sha256(df.write_csv(include_header=False).encode()).hexdigest()[:16]
    return {"problems": df.height, "sum_n": int(df["n"].sum()), "sum_c": int(df["c"].sum()), "digest": digest}


def _child(engine: str, pattern: str, modes: str, shuffle: str, phase_file: str) -> None:
    """Runs in the measured process: starts the engine, runs each phase, prints one JSON line."""

    def phase(name: str) -> None:
        Path(phase_file).write_text(name)
        time.sleep(0.6)  # (the parent's sampler takes its snapshot of the tree's CPU now)

    t0 = time.perf_counter()
    import passlens.io as pio

    if engine == "spark":
        from passlens.io.engines.sessions import spark_session

        spark_session()
    elif engine == "ray":
        from passlens.io.engines.sessions import ray_ready

        ray_ready()
        if shuffle == "sort":
            import ray.data
            from ray.data.context import ShuffleStrategy

            ray.data.DataContext.get_current().shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    elif engine == "duckdb":
        from passlens.io.engines.sessions import duckdb_connection

        duckdb_connection()
    out: dict[str, Any] = {"start": time.perf_counter() - t0}
    done: set[tuple[int, int]] = set()  # Spark stages already counted
    for mode in modes.split(","):
        phase(mode)
        cpu0 = _tree_cpu()
        t1 = time.perf_counter()
        if mode == "inproc":
            import polars as pl

            ds = pio.from_frame(pl.scan_parquet(pattern), source=pattern)  # the files as one lazy frame
            (table,) = ds.groups.values()
            ids, n, c = table.ids, table.n, table.c
        elif mode == "read":
            ds = pio.read(pattern, engine=engine)
            (table,) = ds.groups.values()
            ids, n, c = table.ids, table.n, table.c
        else:
            ids, n, c = _bare(engine, pattern)
        wall = time.perf_counter() - t1
        cpu = _tree_cpu() - cpu0
        phase(f"{mode}:done")
        out[mode] = {"wall": wall, "cpu_self": cpu, **_summary(ids, n, c)}
        if engine == "spark":
            out[mode]["shuffle"] = _spark_shuffle(done)
    print(json.dumps(out))


def _spark_shuffle(done: set[tuple[int, int]]) -> dict[str, int]:
    """Shuffle written by the Spark stages that ran since the last call (from the session's status
    store, which Spark keeps with its UI off): bytes as written (compressed), partial rows, map tasks."""
    from passlens.io.engines.sessions import spark_session

    sc = spark_session().sparkContext
    gw = sc._gateway
    stages = sc._jsc.sc().statusStore().stageList(
        gw.jvm.java.util.ArrayList(), False, False, gw.new_array(gw.jvm.double, 0), gw.jvm.java.util.ArrayList()
    )
    got = {"bytes": 0, "records": 0, "tasks": 0}
    for i in range(stages.size()):
        st = stages.apply(i)
        key = (st.stageId(), st.attemptId())
        if key in done:
            continue
        done.add(key)
        if st.shuffleWriteRecords():
            got["bytes"] += st.shuffleWriteBytes()
            got["records"] += st.shuffleWriteRecords()
            got["tasks"] += st.numTasks()
    return got


def _tree_cpu() -> float:
    """User + system CPU seconds of this process and every live descendant, and of the children
    they have reaped."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _bare(engine: str, pattern: str) -> tuple[Any, Any, Any]:
    """The engine's own group-by of the files, no passlens in between: (ids, n, c)."""
    import polars as pl

    if engine == "polars":
        df = (
            pl.scan_parquet(pattern).group_by("problem_id")
            .agg(pl.len().alias("n"), pl.col("reward").sum().alias("c")).collect(engine="streaming")
        )
    elif engine == "duckdb":
        from passlens.io.engines.sessions import duckdb_connection

        sql = ("SELECT problem_id, count(*)::BIGINT AS n, sum(reward)::BIGINT AS c "
               f"FROM read_parquet('{pattern}') GROUP BY 1")
        df = pl.from_arrow(duckdb_connection().sql(sql).to_arrow_table())  # type: ignore[assignment]
    elif engine == "spark":
        from pyspark.sql import functions as F

        from passlens.io.engines.sessions import spark_session

        sdf = spark_session().read.parquet(pattern).groupBy("problem_id").agg(
            F.count("*").alias("n"), F.sum("reward").alias("c"))
        df = pl.from_arrow(sdf.toArrow())  # type: ignore[assignment]
    else:
        import glob

        import pyarrow as pa
        import ray
        import ray.data
        from ray.data.aggregate import Count, Sum

        ds = ray.data.read_parquet(sorted(glob.glob(pattern)))
        # as many shuffle partitions as passlens asks for (Ray's default, 200, costs 1.8× the CPU on 2 cores)
        parts = max(1, min(200, 2 * int(ray.cluster_resources().get("CPU", 1))))
        agg = ds.groupby("problem_id", num_partitions=parts).aggregate(Count(alias_name="n"), Sum("reward", alias_name="c"))
        df = pl.from_arrow(pa.concat_tables(ray.get(agg.to_arrow_refs())))  # type: ignore[assignment]
    return df["problem_id"], df["n"].cast(pl.Int64), df["c"].cast(pl.Int64)


def _measure(engine: str, pattern: str, modes: list[str], shuffle: str, timeout: float) -> dict[str, Any]:
    """Run one child; sample its process tree's CPU time, RSS and PSS per phase until it ends (or
    ``timeout`` seconds have passed: then its whole tree is killed)."""
    import psutil

    env = dict(os.environ)
    if engine == "spark":
        env.setdefault("SPARK_MASTER", "local[2]")
    tmp = Path(tempfile.mkdtemp())
    phase_file = tmp / "phase"
    cmd = [sys.executable, __file__, "--child", engine, pattern, ",".join(modes), shuffle, str(phase_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    root = psutil.Process(proc.pid)
    cpu: dict[int, float] = {}  # last CPU seen per process, kept after it ends
    at: dict[str, float] = {}  # the tree's CPU when each phase mark was first seen
    peak: dict[str, list[int]] = {}
    procs = 0
    t0 = time.perf_counter()
    while proc.poll() is None:
        if time.perf_counter() - t0 > timeout:
            _kill_tree(root)
            proc.communicate()
            shutil.rmtree(tmp, ignore_errors=True)
            raise SystemExit(f"{engine}: timed out after {timeout:.0f} s (in phase {phase_file.read_text() if phase_file.exists() else 'start'})")
        current = phase_file.read_text() if phase_file.exists() else "start"
        rss = pss = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        procs = max(procs, len(tree))
        for p in tree:
            try:
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system + times.children_user + times.children_system
                mem = p.memory_full_info()
                rss += mem.rss
                pss += mem.pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        at.setdefault(current, sum(cpu.values()))
        if not current.endswith(":done"):
            old = peak.setdefault(current, [0, 0])
            peak[current] = [max(old[0], rss), max(old[1], pss)]
        time.sleep(0.25)
    out, err = proc.communicate()
    shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} ({','.join(modes)}) failed:\n{err[-3000:]}")
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    res["procs"] = procs
    for mode in modes:
        r = res[mode]
        # the phase's CPU from the parent's samples (which keep processes that ended, e.g. Ray's
        # shuffle actors) where they saw both marks; the child's own before/after otherwise
        seen = at.get(f"{mode}:done", 0.0) - at.get(mode, 0.0) if mode in at and f"{mode}:done" in at else 0.0
        r["cpu"] = max(seen, r["cpu_self"])
        r["rss"], r["pss"] = peak.get(mode, [0, 0])
    return res


def _kill_tree(root: Any) -> None:
    import psutil

    try:
        tree = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--problems", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=0, help="files (default: one per 10⁷ rows, at least 4)")
    ap.add_argument("--engines", default="polars,duckdb,spark,ray")
    ap.add_argument("--bare", action="store_true", help="also each engine's own group-by, without passlens")
    ap.add_argument("--inproc", action="store_true", help="also the in-process reader (with polars)")
    ap.add_argument("--ray-shuffle", choices=("hash", "sort"), default="hash")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per engine before its processes are killed")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    files = args.files or max(4, args.rows // 10_000_000)
    folder = DATA / f"engines_{args.rows}_{args.problems}"
    if not (folder / "_complete").exists():
        t = time.perf_counter()
        _generate(folder, args.rows, args.problems, files)
        print(f"(generated {folder.name}: {files} files, "
              f"{sum(f.stat().st_size for f in folder.glob('*.parquet')) / 2**20:.0f} MiB, "
              f"row groups of {ROW_GROUP:,} rows, in {time.perf_counter() - t:.0f} s)")
    pattern = str(folder / "*.parquet")
    print(f"rows={args.rows:,} problems={args.problems:,} cpus={os.cpu_count()} "
          f"load(1 min)={os.getloadavg()[0]:.1f} ray shuffle={args.ray_shuffle}", flush=True)
    print("| engine | what | start s | wall s | rows/s | CPU s | CPU s / 10⁷ rows | peak RSS GiB | peak PSS GiB "
          "| procs | problems | Σn | Σc | digest |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    names = {"read": "read(engine=…)", "bare": "bare group-by", "inproc": "read(), no engine"}
    seen: set[tuple[int, int, str]] = set()
    failed: list[str] = []
    try:
        for engine in args.engines.split(","):
            modes = ["read", "bare"] if args.bare else ["read"]
            if engine == "polars" and args.inproc:
                modes.append("inproc")
            load, t_engine = os.getloadavg()[0], time.perf_counter()
            try:
                res = _measure(engine, pattern, modes, args.ray_shuffle, args.timeout)
            except SystemExit as e:  # an engine that cannot do it is a result too: say what happened, go on
                failed.append(engine)
                print(f"| {engine} | failed after {time.perf_counter() - t_engine:.0f} s (load {load:.1f}): "
                      f"{' '.join(str(e).split())[-600:]} |", flush=True)
                continue
            for mode in modes:
                r = res[mode]
                seen.add((r["sum_n"], r["sum_c"], r["digest"]))
                print(f"| {engine} | {names[mode]} | {res['start']:.1f} | {r['wall']:.1f} | {args.rows / r['wall']:,.0f} "
                      f"| {r['cpu']:.1f} | {r['cpu'] / args.rows * 1e7:.2f} | {r['rss'] / 2**30:.2f} "
                      f"| {r['pss'] / 2**30:.2f} | {res['procs']} | {r['problems']:,} | {r['sum_n']:,} | {r['sum_c']:,} "
                      f"| {r['digest']} |", flush=True)
            for mode in modes:
                sh = res[mode].get("shuffle")
                if sh and sh["records"]:
                    print(f"(spark shuffle, {names[mode]}: {sh['bytes'] / 2**20:.1f} MiB written by {sh['tasks']} map "
                          f"tasks, {sh['records']:,} partial (problem, counts) rows, "
                          f"{sh['bytes'] / sh['records']:.1f} B each)")
            print(f"(load(1 min) {load:.1f} before {engine}, {os.getloadavg()[0]:.1f} after)", flush=True)
    finally:
        equal = len(seen) == 1 and next(iter(seen))[0] == args.rows
        print(f"equal counts on every engine and path that ran: {equal} ({len(seen)} distinct (Σn, Σc, digest); "
              f"Σn = rows: {all(s[0] == args.rows for s in seen)}){'; failed: ' + ', '.join(failed) if failed else ''}")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
