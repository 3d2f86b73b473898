"""Engines: the same rows give the same (n, c), votes, curves and one-line errors on every engine.

Each engine (polars, DuckDB, Spark, Ray) reads the same tiny fixtures through
``read(..., engine=)`` and ``from_frame``; the tables must equal those of the in-process reader
(``read()`` without an engine) and the messages must be the same line on every engine. An engine
that is not installed is skipped with the reason, as is Spark without a Java runtime. One Spark
session and one Ray cluster serve the whole module (their start-up costs seconds).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import passlens.io as pio
from passlens.io import InputError, ProblemTable, from_frame, read
from passlens.io.engines import files as engine_files
from passlens.uncertainty import curve

ENGINES = ["polars", "duckdb", "spark", "ray"]


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and Path(home, "bin", "java").exists())


@pytest.fixture(scope="module")
def spark_up() -> Iterator[None]:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'passlens[spark]')")
    if not _java():
        pytest.skip("Spark needs a Java runtime: no java on PATH and no JAVA_HOME (.ci/run installs one)")
    from passlens.io.engines import sessions

    sessions.spark_session()
    yield
    session = sessions._state.pop("spark", None)
    if session is not None:
        session.stop()


@pytest.fixture(scope="module")
def ray_up() -> Iterator[None]:
    pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'passlens[ray]')")
    import ray
    from ray.data.context import DataContext, ShuffleStrategy

    from passlens.io.engines import sessions

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    sessions.ray_ready()
    ctx = DataContext.get_current()
    before = ctx.shuffle_strategy
    # the sort-based shuffle starts no aggregator actors: seconds instead of tens of seconds per
    # group-by on 2 cores. Our side of the query is the same under either strategy.
    ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    yield
    ctx.shuffle_strategy = before
    if started:
        ray.shutdown()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine of a test parametrized with ``engine``; skipped when it cannot run here."""
    name: str = request.param
    if name == "duckdb":
        pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'passlens[duckdb]')")
    elif name == "spark":
        request.getfixturevalue("spark_up")
    elif name == "ray":
        request.getfixturevalue("ray_up")
    return name


def engines(*names: str) -> Any:
    return pytest.mark.parametrize("engine", list(names or ENGINES), indirect=True)


# ---------------------------------------------------------------------------------------
# fixtures: small files in one folder per module


def samples(seed: int = 3, problems: int = 14) -> pl.DataFrame:
    """Per-sample rows in shuffled order: string ids, 0/1 rewards, answers ('' sometimes), sample ids."""
    rng = random.Random(seed)
    rows = []
    for i in range(problems):
        p = rng.random()
        for s in range(rng.randint(1, 7)):
            ok = rng.random() < p
            rows.append({"problem_id": f"p{i}", "reward": int(ok), "sample_id": s,
                         "answer": "42" if ok else rng.choice(["7", "8", "x", ""])})
    rng.shuffle(rows)
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("engines")
    df = samples()
    df.write_parquet(folder / "s.parquet")
    df.write_csv(folder / "s.csv")
    df.write_ndjson(folder / "s.jsonl")
    # two runs, continuous rewards, a model column: groups per file, a threshold, reward arrays
    rng = np.random.default_rng(5)
    for name, shift in (("base", 0.0), ("rl", 0.2)):
        n = 40
        pl.DataFrame({
            "problem_id": rng.integers(0, 8, n),  # integer ids
            "score": np.round(np.clip(rng.random(n) + shift, 0, 1), 2),
            "model": [name] * n,
        }).write_parquet(folder / f"{name}.parquet")
    # shards of one run (one model value): pooled
    shards = folder / "shards"
    shards.mkdir()
    for i, part in enumerate(df.with_columns(pl.lit("m").alias("model")).iter_slices(40)):
        part.write_parquet(shards / f"part-{i}.parquet")
    pl.DataFrame({"problem_id": ["a", "b", "c"], "c": [1, 0, 4], "n": [4, 2, 4]}).write_parquet(folder / "counts.parquet")
    # bad inputs
    pl.DataFrame({"problem_id": ["a", "b"], "foo": [1, 0]}).write_parquet(folder / "nocol.parquet")
    pl.DataFrame({"problem_id": ["a", "a", "b", "b"], "reward": [1.0, 0.0, 0.5, 1.0]}).write_parquet(
        folder / "nonbinary.parquet")
    pl.DataFrame({"problem_id": ["a", None, "b"], "reward": [1, 0, 1]}).write_parquet(folder / "nullid.parquet")
    (folder / "nullid.csv").write_text("problem_id,reward\na,1\n,0\nb,1\n")
    pl.DataFrame({"problem_id": ["a", "b", "a"], "reward": ["1", "0", "oops"]}).write_parquet(folder / "oops.parquet")
    return folder


def tables_equal(a: ProblemTable, b: ProblemTable, located: bool = False) -> None:
    """Every field equal (``nonbinary_at`` / ``answer_conflict`` too when ``located``)."""
    assert list(a.ids) == list(b.ids)
    assert a.n.tolist() == b.n.tolist()
    assert (a.c is None) == (b.c is None) and (a.c is None or a.c.tolist() == b.c.tolist())  # type: ignore[union-attr]
    for name in ("rewards", "votes", "vote_correct"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert [v.tolist() for v in x] == [v.tolist() for v in y], name
            assert [v.dtype for v in x] == [v.dtype for v in y], name
    if located:
        assert a.nonbinary_at == b.nonbinary_at and a.answer_conflict == b.answer_conflict


def curves_equal(a: ProblemTable, b: ProblemTable) -> None:
    """The pass@k and maj@k curves (analytic intervals) of two tables are identical."""
    ks = np.array([1, 2, 4])
    for metric in ("pass", "maj"):
        kw: dict[str, Any] = dict(ci=0.9, method="analytic", k_exceeds_n="drop", metric=metric)
        if metric == "maj":
            kw.update(votes=a.votes, correct=a.vote_correct)
        ca = curve(a.n, a.c, ks, ids=a.ids, **kw).to_dict()
        if metric == "maj":
            kw.update(votes=b.votes, correct=b.vote_correct)
        cb = curve(b.n, b.c, ks, ids=b.ids, **kw).to_dict()
        assert ca == cb


# ---------------------------------------------------------------------------------------
# the same counts, votes and curves on every engine


@engines()
def test_every_format_gives_the_in_process_tables(engine: str, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(data)
    for name in ("s.parquet", "s.csv", "s.jsonl"):
        ref = read(name)
        got = read(name, engine=engine)
        assert got.shape == ref.shape == "samples" and got.rows == ref.rows and got.files == [name]
        assert got.notes == ref.notes and got.sha256 == {}
        tables_equal(got.groups[""], ref.groups[""], located=True)
        curves_equal(got.groups[""], ref.groups[""])


@engines()
def test_groups_threshold_and_reward_arrays(engine: str, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(data)
    files = ["base.parquet", "rl.parquet"]
    ref = read(files, threshold=0.5, keep_rewards=True)
    got = read(files, engine=engine, threshold=0.5, keep_rewards=True)
    assert list(got.groups) == list(ref.groups) == ["base", "rl"] and got.by == ref.by == "file"
    for g in ref.groups:
        tables_equal(got.groups[g], ref.groups[g])
        assert got.groups[g].nonbinary_at is not None and got.groups[g].nonbinary_at.startswith(f"{g}.parquet: problem ")
    assert got.notes == ref.notes
    # default: non-0/1 rewards give c = None and their arrays; by a column instead of by file
    ref, got = read(files, by="model"), read(files, by="model", engine=engine)
    assert list(got.groups) == ["base", "rl"] and all(t.c is None for t in got.groups.values())
    for g in ref.groups:
        tables_equal(got.groups[g], ref.groups[g])
    # a glob of shards of one run: pooled into one group, as the files one by one
    shards = sorted(str(p.relative_to(data)) for p in (data / "shards").glob("*.parquet"))
    ref = read(shards)
    got = read("shards/*.parquet", engine=engine)
    assert list(got.groups) == [""] and got.files == ["shards/*.parquet"]
    tables_equal(got.groups[""], ref.groups[""])


@engines()
def test_count_rows(engine: str, data: Path) -> None:
    path = str(data / "counts.parquet")
    tables_equal(read(path, engine=engine).groups[""], read(path).groups[""])


@engines()
def test_sample_ids_in_one_group_per_file(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several files with a sample-id column, one group per file: the duplicate check keys on the file."""
    monkeypatch.chdir(tmp_path)
    pl.DataFrame({"problem_id": ["a", "a", "b"], "reward": [1, 0, 1], "sample_id": [0, 1, 0]}).write_parquet("x.parquet")
    pl.DataFrame({"problem_id": ["a", "b"], "reward": [1, 0], "sample_id": [0, 0]}).write_parquet("y.parquet")
    files = ["x.parquet", "y.parquet"]
    ref, got = read(files), read(files, engine=engine)
    assert list(got.groups) == list(ref.groups) == ["x", "y"] and got.notes == ref.notes
    for g in ref.groups:
        tables_equal(got.groups[g], ref.groups[g])
    pl.DataFrame({"problem_id": ["a", "a"], "reward": [1, 0], "sample_id": [0, 0]}).write_parquet("y.parquet")
    with pytest.raises(InputError, match=r"^y\.parquet: problem 'a' in group 'y': duplicate sample id '0' \(2 rows; "):
        read(files, engine=engine)


def test_notes_of_several_groups_come_in_one_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups with a step column of several values on disjoint problems: one note per group, in group
    order, the same in-process and on an engine (the in-process order was the hash table's)."""
    monkeypatch.chdir(tmp_path)
    files = []
    for i in range(6):
        files.append(f"run-{i}.parquet")
        pl.DataFrame({"problem_id": ["a", "b", "c"], "reward": [1, 0, 1], "step": [1, 2, 2]}).write_parquet(files[-1])
    ref = read(files)
    assert [n.split(":")[0] for n in ref.notes if "disjoint" in n] == [f"group 'run-{i}'" for i in range(6)]
    assert read(files, engine="polars").notes == ref.notes


def many_problems(problems: int = 4000, rows: int = 16000, seed: int = 11) -> pl.DataFrame:
    """Rows of one run in random problem order; ids ``p0`` … whose text order is not their number's."""
    rng = np.random.default_rng(seed)
    pid = rng.integers(0, problems, rows)
    ok = rng.random(rows) < rng.random(problems)[pid]
    answer = np.where(ok, "42", rng.choice(["7", "8", ""], rows))
    return pl.DataFrame({"problem_id": [f"p{i}" for i in pid], "reward": ok.astype(np.int64), "answer": answer,
                         "model": "m"})


@engines("polars", "duckdb")
def test_many_problems_split_across_inputs(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards of one run given as several inputs: each problem comes back as a cell per input, merged
    into the in-process tables (ids in text order, n, c and votes)."""
    monkeypatch.chdir(tmp_path)
    df = many_problems()
    for answers in (False, True):
        files = []
        for i, part in enumerate((df if answers else df.drop("answer")).iter_slices(df.height // 4 + 1)):
            files.append(f"part-{i}-{answers}.parquet")
            part.write_parquet(files[-1])
        ref = read(files)
        got = read(files, engine=engine)
        assert list(got.groups) == list(ref.groups) == [""] and got.notes == ref.notes
        assert (got.groups[""].votes is not None) == answers
        tables_equal(got.groups[""], ref.groups[""])
        ids = list(got.groups[""].ids)
        assert ids == sorted(ids) and len(ids) == df["problem_id"].n_unique() > 3000


def test_partial_aggregates_split_per_partition_are_merged() -> None:
    """An engine that returns its group-by per partition, not merged (a problem in several rows of
    the result), still gives the in-process tables: the driver merges where the sorted cells repeat."""
    from passlens.io.columns import make_options
    from passlens.io.engines.aggregate import read_engine
    from passlens.io.engines.runners import NarwhalsRunner

    returned: list[pl.DataFrame] = []

    class Partials(NarwhalsRunner):
        def aggregate(self, keys: Any, spec: Any) -> pl.DataFrame:
            rows = self.natives[0]
            parts = [
                NarwhalsRunner("polars", [rows.slice(lo, 5000)], self.labels, [None]).aggregate(keys, spec)
                for lo in range(0, rows.height, 5000)
            ]
            returned.append(pl.concat(parts))
            return returned[-1]

    opts = make_options(None, None, None, None, None, None, None, None, False, None)
    for df in (many_problems().drop("answer"), many_problems()):
        ref = from_frame(df, source="runs").groups[""]
        returned.clear()
        got = read_engine(Partials("polars", [df], ["runs"], [None]), ["runs"], opts).groups[""]
        cells = returned[0]  # the happy path's one group-by: a key in several rows (partials, not merged)
        assert cells.select(pl.struct([k for k in ("_id", "_a") if k in cells.columns]).is_duplicated().any()).item()
        assert (got.votes is not None) == ("answer" in df.columns)
        tables_equal(got, ref)
        assert list(got.ids) == sorted(map(str, got.ids))


# ---------------------------------------------------------------------------------------
# the same one-line error from every engine

BAD = {
    # fixture: (options, the message after '<file>: ')
    "nonbinary.parquet": ({"binary": True}, "problem 'b': reward 0.5 is not 0 or 1; binary rewards were required"),
    "nullid.parquet": ({}, "missing problem id (column 'problem_id')"),
    "nullid.csv": ({}, "missing problem id (column 'problem_id')"),
    "oops.parquet": ({}, "problem 'a': reward 'oops' is not a number (column 'reward')"),
}


@engines()
def test_bad_input_is_the_same_line_on_every_engine(engine: str, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(data)
    for name, (options, message) in BAD.items():
        with pytest.raises(InputError) as info:
            read(name, engine=engine, **options)
        assert str(info.value) == f"{name}: {message}"
    with pytest.raises(InputError) as info:
        read("nocol.parquet", engine=engine)
    with pytest.raises(InputError) as ref:
        read("nocol.parquet")
    assert str(info.value) == str(ref.value) and str(info.value).startswith("nocol.parquet: no reward column")
    # non-0/1 rewards are not an error by themselves: c is None and the note says where they start
    ds = read("nonbinary.parquet", engine=engine)
    assert ds.groups[""].c is None and ds.groups[""].nonbinary_at == "nonbinary.parquet: problem 'b'"
    assert ds.notes == ["rewards are not all 0/1 (first at nonbinary.parquet: problem 'b'): c is None; "
                        "pass threshold= to count successes"]


@engines()
def test_a_glob_names_the_file(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("logs").mkdir()
    pl.DataFrame({"problem_id": ["a", "b"], "reward": [1.0, 0.0]}).write_parquet("logs/x-0.parquet")
    pl.DataFrame({"problem_id": ["c", "a"], "reward": [1.0, float("nan")]}).write_parquet("logs/x-1.parquet")
    with pytest.raises(InputError, match=r"^logs/x-1\.parquet: problem 'a': reward is NaN \(column 'reward'\)$"):
        read("logs/x-*.parquet", engine=engine)


# ---------------------------------------------------------------------------------------
# frames that live in an engine


def _frame_of(kind: str, df: pl.DataFrame) -> Any:
    if kind == "duckdb":
        duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
        con = duckdb.connect()
        con.register("rows", df.to_arrow())
        return con.sql("SELECT * FROM rows")
    if kind == "spark":
        from passlens.io.engines.sessions import spark_session

        return spark_session().createDataFrame(df.to_arrow())
    if kind == "dask":
        dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed")
        return dd.from_pandas(df.to_pandas(), npartitions=2)
    import ray.data

    return ray.data.from_arrow(df.to_arrow())


@pytest.mark.parametrize("kind", ["duckdb", "spark", "dask", "ray"])
def test_from_frame_aggregates_where_the_frame_lives(kind: str, request: pytest.FixtureRequest) -> None:
    if kind in ("spark", "ray"):
        request.getfixturevalue(f"{kind}_up")
    df = samples(seed=8)
    ref = from_frame(df, source="runs")
    got = from_frame(_frame_of(kind, df), source="runs")
    assert got.notes == ref.notes and got.files == ["runs"]
    tables_equal(got.groups[""], ref.groups[""], located=True)
    bad = pl.DataFrame({"problem_id": ["a", "b", "a"], "reward": [1.0, 0.0, 0.5]})
    with pytest.raises(InputError, match=r"^runs: problem 'a': reward 0\.5 is not 0 or 1; binary rewards were required$"):
        from_frame(_frame_of(kind, bad), source="runs", binary=True)


def test_in_memory_frames_keep_the_in_process_reader() -> None:
    bad = pl.DataFrame({"problem_id": ["a", "b"], "reward": [1.0, None]})
    for frame in (bad, bad.lazy(), bad.to_arrow(), bad.to_pandas()):
        with pytest.raises(InputError, match=r"^mine: row 2: problem 'b': missing reward"):
            from_frame(frame, source="mine")


# ---------------------------------------------------------------------------------------
# patterns, engines, sessions


def test_patterns_are_checked_before_any_engine_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("d").mkdir()
    pl.DataFrame({"problem_id": ["a"], "reward": [1]}).write_parquet("d/x.parquet")
    cases = {
        "nope.parquet": "nope.parquet: file not found",
        "d/*.csv": "d/*.csv: no file matches",
        "d": "d: is a directory; give a pattern such as 'd/*.parquet'",
        "d/x.txt": "d/x.txt: unknown file extension '.txt'; an engine reads .csv, .json, .jsonl, .ndjson, .parquet, .pq",
    }
    for given, message in cases.items():
        with pytest.raises(InputError) as info:
            read(given, engine="polars")
        assert str(info.value) == message
    with pytest.raises(InputError, match=r"^d/x\.parquet: given twice$"):
        read(["d/x.parquet", "d/x.parquet"], engine="polars")
    with pytest.raises(InputError, match=r"^engine: must be one of polars, duckdb, spark, ray, got 'pandas'$"):
        read("d/x.parquet", engine="pandas")
    # a URL is the engine's to resolve: only its suffix is looked at here
    p = engine_files.pattern_of("s3://bucket/logs/run-*/part-?.parquet")
    assert (p.fmt, p.url, p.glob, p.stem) == ("parquet", True, True, "logs")
    assert engine_files.Pattern("runs/base/*.jsonl", "jsonl", False, True).stem == "base"
    assert engine_files.Pattern("runs/rl.parquet", "parquet", False, False).stem == "rl"


def test_files_as_messages_name_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a b").mkdir()
    Path("a b/x.parquet").write_bytes(b"")
    rel = engine_files.Pattern("a b/*.parquet", "parquet", False, True)
    absolute = engine_files.Pattern(str(tmp_path / "a b/*.parquet"), "parquet", False, True)
    spark_style = (tmp_path / "a b/x.parquet").as_uri()  # file:///…/a%20b/x.parquet
    assert engine_files.shown_file(spark_style, rel) == "a b/x.parquet"
    assert engine_files.shown_file(str(tmp_path / "a b/x.parquet"), rel) == "a b/x.parquet"
    assert engine_files.shown_file(spark_style, absolute) == str(tmp_path / "a b/x.parquet")
    url = engine_files.Pattern("s3://b/*.parquet", "parquet", True, True)
    assert engine_files.shown_file("s3://b/x.parquet", url) == "s3://b/x.parquet"


def test_a_missing_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from passlens.io.engines import sessions

    path = tmp_path / "x.parquet"
    pl.DataFrame({"problem_id": ["a"], "reward": [1]}).write_parquet(path)
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb → ImportError
    monkeypatch.setattr(sessions, "_state", {})
    with pytest.raises(InputError, match=r"^engine duckdb: duckdb is not installed \(pip install 'passlens\[duckdb\]'\)$"):
        read(str(path), engine="duckdb")


def test_importing_passlens_io_imports_no_engine() -> None:
    code = (
        "import sys, passlens.io, passlens.cli; "
        "print(sorted(m for m in ('narwhals', 'duckdb', 'pyspark', 'ray', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_engines_stand_on_the_io_modules_below_read() -> None:
    """engines/ imports the io modules below the readers — ``problems`` (the final stage every reader
    shares) and what it stands on — and never ``read``, ``aggregate``, ``counts``, ``job`` or
    ``formats`` (engines read through their own readers)."""
    import ast

    folder = Path(pio.__file__).parent / "engines"
    allowed = {"tables", "columns", "messages", "problems"}
    problems = []
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                mod = (node.module or "").split(".")[0]
                if mod not in allowed:
                    problems.append(f"{path.name} imports io.{mod}")
    assert problems == []


# ---------------------------------------------------------------------------------------
# the command line: passlens eval / report --engine

RAY_SORT_SHUFFLE = (
    "import ray.data\n"
    "from ray.data.context import ShuffleStrategy\n"
    "ray.data.DataContext.get_current().shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED\n"
)


@pytest.mark.parametrize("name", ENGINES)
def test_cli_eval_and_report_with_an_engine(name: str, data: Path, cli: Any, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    if name == "duckdb":
        pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'passlens[duckdb]')")
    if name == "spark":
        pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'passlens[spark]')")
        if not _java():
            pytest.skip("Spark needs a Java runtime: no java on PATH and no JAVA_HOME (.ci/run installs one)")
    if name == "ray":
        pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'passlens[ray]')")
    s, nonbinary, oops = (str(data / f) for f in ("s.parquet", "nonbinary.parquet", "oops.parquet"))
    curve_args = ["--k", "1,2,4", "--method", "analytic", "--drop-small-n"]
    runs = cli.many(
        [
            ["eval", s, *curve_args],
            ["eval", s, *curve_args, "--engine", name],
            ["eval", s, *curve_args, "--metric", "maj"],
            ["eval", s, *curve_args, "--metric", "maj", "--engine", name],
            ["eval", nonbinary, "--engine", name],
            ["eval", oops, "--engine", name],
            ["report", s, "--engine", name, "--out", str(tmp_path / "rep"), "--no-html", "--n-boot", "20"],
        ],
        prelude=RAY_SORT_SHUFFLE if name == "ray" else "",
        timeout=600,
    )
    assert runs[0].returncode == runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout  # the same table, the same notes
    assert runs[3].returncode == 0 and runs[3].stdout == runs[2].stdout
    cli.one_line_error(runs[4], f"rewards are not all 0/1 (first at {nonbinary}: problem 'b'); use --threshold T")
    cli.one_line_error(runs[5], f"{oops}: problem 'a': reward 'oops' is not a number (column 'reward')")
    assert runs[6].returncode == 0, runs[6].stderr
    assert (tmp_path / "rep" / "metrics.json").is_file()


def test_cli_engine_option(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.one_line_error(cli.invoke("eval", "x.parquet", "--engine", "pandas"),
                       "--engine: must be one of polars, duckdb, spark, ray, got 'pandas'")
    # a URL reaches the engine as written (a Path would make 's3://b/x' into 's3:/b/x')
    seen: list[Any] = []

    def fake_read(paths: Any, **options: Any) -> Any:
        seen.append((list(paths), options.get("engine")))
        raise InputError("stop here")

    monkeypatch.setattr(pio, "read", fake_read)
    cli.one_line_error(cli.invoke("eval", "s3://bucket/logs/*.parquet", "--engine", "duckdb"), "stop here")
    cli.one_line_error(cli.invoke("report", "gs://b/a.parquet", "--engine", "spark", "--out", "unused-out"), "stop here")
    assert seen == [(["s3://bucket/logs/*.parquet"], "duckdb"), (["gs://b/a.parquet"], "spark")]
