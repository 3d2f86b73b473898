"""Bad options and odd user data through the real entry point: one line on stderr, exit 2, output kept literal.

A few checks run ``python -m passlens`` itself (``cli.run``); the matrices of invocations go through
the same ``passlens.cli.main`` inside ONE subprocess (``cli.many``), since each interpreter pays
seconds of imports on a small machine.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from passlens.cli import K_MAX, MAX_BUDGETS, UserError, parse_k_list, parse_ks
from passlens.cli.report import parse_k_spec

HUGE = "99999999999999999999"  # > 2⁶⁴: overflowed int64 conversions before


@pytest.fixture(scope="module")
def data(tmp_path_factory, write_jsonl) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    files = {
        "good": '{"id": "a", "c": 1, "n": 8}\n{"id": "b", "c": 3, "n": 8}\n{"id": "c", "c": 0, "n": 8}\n',
        "good2": '{"id": "a", "c": 2, "n": 8}\n{"id": "b", "c": 4, "n": 8}\n{"id": "c", "c": 1, "n": 8}\n',
        "one": '{"id": "a", "c": 3, "n": 8}\n',
        "thumbs": '{"id": ":thumbs_up:", "c": 9, "n": 8}\n',
        ":A:": '{"id": "a", "c": 1, "n": 8}\n{"id": "b", "c": 2, "n": 8}\n',
        # lm-evaluation-harness: one row per (filter, doc); compare has no --by, so its advice differs
        "filters": "".join(f'{{"doc_id": {d}, "filter": "{f}", "exact_match": {(d + j) % 2}}}\n'
                           for d in range(2) for j, f in enumerate(["strict", "flex"])),
        # verl-style ±1 score next to a 0/1 acc: the failure names the other reward-like column
        "pm1": '{"id": "a", "score": -1, "acc": 0}\n{"id": "a", "score": 1, "acc": 1}\n',
        # answer "b" of q2 is graded both ways: pass@k is fine, majority voting is not
        "split": "".join(f'{{"id": "{q}", "reward": {r}, "answer": "{a}"}}\n'
                         for q, r, a in [("q1", 1, "a"), ("q1", 0, "b"), ("q2", 1, "b"), ("q2", 0, "b")]),
    }
    paths = {}
    for name, text in files.items():
        paths[name] = d / f"{name}.jsonl"
        paths[name].write_text(text)
    models = [{"id": f"p{i}", "model": m, "c": i + (m == "m"), "n": 8} for m in ("[red]m", "m") for i in range(3)]
    paths["models"] = d / "models.jsonl"
    write_jsonl(paths["models"], models)
    rewards = [{"id": f"p{i}", "sample": s, "reward": ((7 * i + 3 * s) % 10) / 10} for i in range(4) for s in range(6)]
    paths["rewards"] = d / "rewards.jsonl"
    write_jsonl(paths["rewards"], rewards)
    # every problem has the same rewards: max@k has no spread and no known range, hence no interval
    flat = [{"id": f"p{i}", "sample": s, "reward": 0.5} for i in range(3) for s in range(2)]
    paths["flat"] = d / "flat.jsonl"
    write_jsonl(paths["flat"], flat)
    paths["out"] = d / "report-out"
    return paths


# ---------------------------------------------------------------------------------------
# budgets: parse_ks / parse_k_list / parse_k_spec


def test_parse_k_list_accepts_lists_and_ranges() -> None:
    assert parse_k_list("1-4, 8,2") == [1, 2, 3, 4, 8]
    assert parse_k_list(f"{K_MAX}") == [K_MAX]
    assert parse_ks("pow2", 10, 10).tolist() == [1, 2, 4, 8, 10]
    assert parse_ks(" all ", 3, 3).tolist() == [1, 2, 3]
    assert parse_k_spec("1-3,8") == ((1, 2, 3, 8), "all")


@pytest.mark.parametrize(
    "spec,fragments",
    [
        (HUGE, ["--k: budget 99999999999999999999 is too large", "2^53"]),
        (f"1-{HUGE}", ["too large"]),
        ("1-9999999999", ["--k: '1-9999999999' makes more than 1,000,000 budgets"]),
        ("4-1", ["--k: reversed range '4-1'", "1-4"]),
        ("0,2", ["--k: budgets must be ≥ 1, got 0"]),
        ("-3", ["--k: budgets must be ≥ 1, got -3"]),
        ("1,x", ["--k: cannot parse 'x' in '1,x'"]),
        ("1,,2", ["--k: cannot parse ''"]),
    ],
)
def test_parse_k_list_errors_name_the_option_and_part(spec: str, fragments: list[str]) -> None:
    with pytest.raises(UserError) as info:
        parse_k_list(spec)
    for frag in fragments:
        assert frag in str(info.value)
    with pytest.raises(ValueError):  # the report's parser shares the rules (and raises a ValueError)
        parse_k_spec(spec)


def test_range_limit_is_checked_before_expanding() -> None:
    assert len(parse_k_list(f"1-{MAX_BUDGETS}")) == MAX_BUDGETS
    with pytest.raises(UserError, match="more than 1,000,000 budgets"):
        parse_k_list(f"1-{MAX_BUDGETS},{MAX_BUDGETS + 5}")
    with pytest.raises(UserError, match="--show: cannot parse 'bogus'"):
        parse_k_list("bogus", "--show")


# ---------------------------------------------------------------------------------------
# one-line errors, every subcommand


def bad_cases(d: dict[str, Path]) -> list[tuple[list[str], list[str]]]:
    g, g2, out = str(d["good"]), str(d["good2"]), str(d["out"])
    return [
        # budgets (item: OverflowError / MemoryError / reversed range)
        (["eval", g, "--k", HUGE], ["--k: budget 99999999999999999999 is too large"]),
        (["eval", g, "--k", "1-9999999999"], ["--k: '1-9999999999' makes more than 1,000,000 budgets"]),
        (["eval", g, "--k", "4-1"], ["--k: reversed range '4-1'"]),
        (["compare", g, g2, "--k", HUGE], ["--k: budget 99999999999999999999 is too large"]),
        (["report", g, "--out", out, "--k", "1-9999999999"], ["--k:", "1,000,000 budgets"]),
        (["report", g, "--out", out, "--k", "4-1"], ["--k: reversed range '4-1'"]),
        (["theory", "--k", HUGE], ["--k: budget 99999999999999999999 is too large"]),
        # values click cannot convert: one line, not a usage box
        (["eval", g, "--threshold", "abc"], ["--threshold: expected a number, got 'abc'"]),
        (["eval", g, "--n-boot", "abc"], ["--n-boot: expected an integer, got 'abc'"]),
        (["eval", g, "--ci", "abc"], ["--ci: expected a number, got 'abc'"]),
        (["eval", g, "--seed", "1.5"], ["--seed: expected an integer, got '1.5'"]),
        (["compare", g, g2, "--seed", "1.5"], ["--seed: expected an integer"]),
        (["report", g, "--threshold", "abc"], ["--threshold: expected a number"]),
        (["lab", "run", "-o", "rloo", "--out", out, "--seeds", "abc"], ["--seeds: expected an integer, got 'abc'"]),
        (["lab", "run", "--out", out], ["--objective: missing option"]),
        (["train", "--seed", "1.5"], ["--seed: expected an integer, got '1.5'"]),
        (["reproduce", "--bogus"], ["--bogus: no such option"]),
        (["theory", "variance", "--seed", "1.5"], ["--seed: cannot parse '1.5'"]),
        (["theory", "variance", "--plot"], ["--plot: requires an argument"]),
        (["eval", g, "--thresh", "1"], ["--thresh: no such option", "did you mean --threshold?"]),
        (["eval"], ["FILES: missing argument"]),
        (["nonsense"], ["no such command 'nonsense'"]),
        # messages that name the option
        (["eval", g, "--seed", "-1"], ["--seed: must be an integer in [0, 4294967295], got -1"]),
        (["compare", g, g2, "--seed", "-1"], ["--seed:", "got -1"]),
        (["report", g, "--out", out, "--seed", "-1"], ["--seed:", "got -1"]),
        (["eval", g, "--n-boot", HUGE], ["--n-boot: must be between 2 and 1,000,000"]),
        (["compare", g, g2, "--n-boot", HUGE], ["--n-boot: must be between 2 and 1,000,000"]),
        (["report", g, "--out", out, "--n-boot", HUGE], ["--n-boot: must be between 2 and 1,000,000"]),
        (["eval", g, "--n-boot", "1"], ["--n-boot:"]),
        (["report", g, "--out", out, "--group-size", HUGE], ["--group-size: must be an integer in [1, 2^53 − 1]"]),
        (["report", g, "--out", out, "--group-size", "0"], ["--group-size:"]),
        (["theory", "variance", "--n", HUGE], ["--n: must be ≤ 1,000,000"]),
        (["theory", "variance", "--draws", HUGE], ["--draws × --n", "lower --draws or --n"]),
        (["theory", "variance", "--k", "20", "--n", "16"], ["--k: must be ≤ --n = 16"]),
        (["eval", g, "--threshold", "nan"], ["--threshold: must be a finite number"]),
        (["compare", g, g2, "--alpha", "2"], ["--alpha: must be in (0, 1)"]),
        # compare --show
        (["compare", g, g2, "--show", "bogus"], ["--show: cannot parse 'bogus'"]),
        (["compare", g, g2, "--show", "0"], ["--show: budgets must be ≥ 1"]),
        (["compare", g, g2, "--k", "1,2,4", "--show", "3"], ["--show: k=3 not among the compared budgets", "1, 2, 4"]),
        (["compare", g, g2, "--k", "1,2", "--show", "1,99"], ["--show: k=99 not among"]),
        # an answer graded both ways: no majority vote, the two rows named
        (["eval", str(d["split"]), "--metric", "maj", "--k", "1"],
         ["--metric maj: ", "split.jsonl:4: problem 'q2': answer 'b' has both correct and incorrect samples",
          "split.jsonl:3"]),
        # an output path naming an input would destroy the data; an empty one would write nothing
        (["eval", g, "--k", "1", "--json", g], ["--json ", "is one of the input files and would be overwritten"]),
        (["compare", g, g2, "--k", "1", "--json", g2], ["--json ", "is one of the input files"]),
        (["eval", g, "--k", "1", "--csv", ""], ["--csv: empty path"]),
        # budgets are ASCII digits (int() would also read e.g. Arabic-Indic ones)
        (["eval", g, "--k", "٣"], ["--k: cannot parse '٣'"]),
        (["theory", "--k", "1,٣"], ["--k: cannot parse '٣'"]),
        (["theory", "variance", "--estimator", "bogus"], ["--estimator 'bogus': unknown advantage estimator"]),
        # rewards that are not 0/1: where, what to do, and the other reward-like column
        (["eval", str(d["pm1"])], ["rewards are not all 0/1 (first at ", "pm1.jsonl:1); use --threshold T",
                                   "also reward-like: acc", "--reward-col"]),
        (["compare", str(d["pm1"]), g], ["pm1.jsonl: rewards are not all 0/1", "also reward-like: acc"]),
        (["eval", str(d["filters"])], ["filters.jsonl:2: problem '0' has rows from several 'filter' values",
                                       "pass by='filter' (--by filter)"]),
        (["compare", str(d["filters"]), g], ["filters.jsonl:2: problem '0'", "compare takes one group per file",
                                             f"'passlens report {d['filters']} --by filter'"]),
        # two machine outputs on stdout cannot be told apart
        (["eval", g, "--json", "-", "--csv", "-"], ["--json - and --csv -: only one output can go to stdout"]),
    ]


COMMANDS = [["eval"], ["compare"], ["report"], ["train"], ["reproduce"], ["theory"], ["theory", "variance"],
            ["lab", "run"], ["lab", "show"]]


@pytest.fixture(scope="module")
def batch(cli, data) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    groups: dict[str, list[list[str]]] = {
        "bad": [argv for argv, _ in bad_cases(data)],
        "help": [["--help"], ["--version"], [], ["eval", "--help"], ["theory", "variance", "--help"], ["lab"]],
        "examples": [[*cmd, "--help"] for cmd in COMMANDS],
        "markup": [
            ["eval", str(data["thumbs"])],
            ["eval", str(data[":A:"]), str(data["good"]), "--k", "1,2", "--method", "analytic"],
            ["eval", str(data["models"]), "--by", "model", "--k", "1", "--method", "analytic"],
        ],
        "machine": [
            ["eval", str(data["good"]), "--k", "1,2", "--json", "-", "--n-boot", "50"],
            ["eval", str(data["one"]), "--k", "1,2", "--csv", "-"],
            ["compare", str(data["good"]), str(data["good2"]), "--k", "1,2", "--json", "-", "--n-boot", "50"],
        ],
        "misc": [
            ["eval", str(data["one"]), "--k", "1,2"],
            ["eval", str(data["rewards"]), "--metric", "max", "--threshold", "0.5", "--k", "1,2", "--method", "analytic"],
            ["compare", str(data["good"]), str(data["good2"]), "--k", "3,5", "--n-boot", "50"],
            ["compare", str(data["good"]), str(data["good2"]), "--k", "1-8", "--show", "1,3", "--n-boot", "50"],
            ["eval", str(data["split"]), "--k", "1", "--method", "analytic"],
            ["eval", str(data["flat"]), "--metric", "max", "--k", "1,2"],
        ],
    }
    flat = [argv for argvs in groups.values() for argv in argvs]
    results = iter(cli.many(flat))
    return {name: [next(results) for _ in argvs] for name, argvs in groups.items()}


def test_bad_options_are_one_line_errors(cli, batch, data) -> None:
    for (argv, fragments), res in zip(bad_cases(data), batch["bad"]):
        cli.one_line_error(res, *fragments)
    assert not data["out"].exists()  # every report case failed before writing


def test_usage_error_through_the_real_entry_point(cli, data) -> None:
    res = cli.run("eval", str(data["good"]), "--threshold", "abc")
    line = cli.one_line_error(res, "--threshold: expected a number, got 'abc'")
    assert "Usage:" not in line and res.stdout == ""
    cli.one_line_error(cli.run("theory", "variance", "--n", HUGE), "--n: must be ≤ 1,000,000")


def test_help_version_and_no_arguments(batch) -> None:
    top, version, none, ev, tv, lab = batch["help"]
    assert top.returncode == 0 and "eval" in top.stdout and "compare" in top.stdout
    assert version.returncode == 0 and version.stdout.startswith("passlens ")
    assert none.returncode == 2 and "Usage" in none.stdout and "eval" in none.stdout  # no arguments: the help, exit 2
    assert ev.returncode == 0 and "Example:" in ev.stdout
    assert tv.returncode == 0 and "--draws" in tv.stdout
    assert lab.returncode == 2 and "run" in lab.stdout


def test_every_command_help_has_an_example(batch) -> None:
    for cmd, res in zip(COMMANDS, batch["examples"]):
        assert res.returncode == 0, (cmd, res.stderr)
        assert "Example: passlens " + cmd[0] in res.stdout, cmd


# ---------------------------------------------------------------------------------------
# user data printed as written (no rich markup, no emoji codes)


def test_user_strings_are_not_rich_markup_or_emoji(cli, batch) -> None:
    thumbs, a, models = batch["markup"]
    line = cli.one_line_error(thumbs, "problem ':thumbs_up:'")
    assert "👍" not in line
    assert a.returncode == 0, a.stderr
    assert "pass@k — file=:A:" in a.stdout and "🅰" not in a.stdout and "file=good" in a.stdout
    assert "None=" not in a.stdout
    assert models.returncode == 0, models.stderr
    assert "pass@k — model=[red]m" in models.stdout and "pass@k — model=m " in models.stdout


def test_report_labels_are_not_emoji(cli, tmp_path: Path, write_jsonl) -> None:
    rows = [{"id": f"p{i}", "model": m, "c": (i + (m == "rl:A")) % 9, "n": 8} for m in ("base:A", "rl:A") for i in range(6)]
    f = write_jsonl(tmp_path / "rows.jsonl", rows)
    res = cli.run("report", str(f), "--by", "model", "--out", str(tmp_path / "rep"), "--n-boot", "20", "--no-html", "--k", "1,2,4,8")
    assert res.returncode == 0, res.stderr
    assert "🅰" not in res.stdout
    assert "note: base:A: zero-signal fraction" in res.stdout and "rl:A vs base:A" in res.stdout


# ---------------------------------------------------------------------------------------
# machine output on stdout, missing intervals, --threshold without effect, compare --show


def test_machine_output_on_stdout_is_parseable(batch) -> None:
    js, cs, cmp = batch["machine"]
    assert js.returncode == 0, js.stderr
    payload = json.loads(js.stdout)  # stdout holds the JSON alone
    assert payload["groups"][""]["k"] == [1, 2]
    assert "pass@k" in js.stderr and "3 problems" in js.stderr  # the table went to stderr
    assert cs.returncode == 0, cs.stderr
    rows = list(csv.DictReader(io.StringIO(cs.stdout)))
    assert [r["k"] for r in rows] == ["1", "2"] and rows[0]["lo"] == ""  # no interval: an empty cell, not 'nan'
    assert "n/a" in cs.stderr
    assert cmp.returncode == 0, cmp.stderr
    assert json.loads(cmp.stdout)["k"] == [1, 2] and "B − A" in cmp.stderr


def test_single_problem_prints_na_and_a_note(batch) -> None:
    res = batch["misc"][0]
    out = res.stdout
    assert res.returncode == 0, res.stderr
    assert "nan" not in out and "1 problem)" in out
    body = [line for line in out.splitlines() if line.startswith("│")]
    assert len(body) == 2 and all(line.count("n/a") == 2 for line in body)  # CI and SE
    assert "note: k=1, 2: one problem, no interval" in out


def test_no_spread_max_at_k_says_why_there_is_no_interval(batch) -> None:
    res = batch["misc"][5]
    out = res.stdout
    assert res.returncode == 0, res.stderr
    assert "3 problems" in out and "fewer than 2" not in out  # not the one-problem note
    assert "note: k=1, 2: no spread over problems, unknown reward range: no interval" in out


def test_threshold_without_effect_says_so(batch) -> None:
    res = batch["misc"][1]
    assert res.returncode == 0, res.stderr
    assert "note: --threshold 0.5 ignored: --metric max uses the raw rewards" in res.stdout


def test_compare_show_rows(batch) -> None:
    pow2, listed = batch["misc"][2:4]
    assert pow2.returncode == 0, pow2.stderr
    body = [line.split("│")[1].strip() for line in pow2.stdout.splitlines() if line.startswith("│")]
    assert body == ["3", "5"]  # pow2 shows both ends of a grid without powers of 2: never an empty table
    assert listed.returncode == 0, listed.stderr
    body = [line.split("│")[1].strip() for line in listed.stdout.splitlines() if line.startswith("│")]
    assert body == ["1", "3"]


def test_answer_graded_both_ways_keeps_pass_at_k_with_a_note(batch) -> None:
    res = batch["misc"][4]
    assert res.returncode == 0, res.stderr
    assert "2 problems" in res.stdout and "0.5000" in res.stdout
    assert "answer 'b' has both correct and incorrect samples" in res.stdout and "no maj@k" in res.stdout


def test_conversion_errors_read_the_same_whatever_converts_them() -> None:
    """typer with pydantic conversion and click's own types word a bad value differently; both read alike."""
    from passlens.cli._errors import _bad_value, click_exceptions

    mod = click_exceptions()
    for message, want in [("'abc' is not a valid float.", "expected a number, got 'abc'"),
                          ("'1.5' is not a valid integer.", "expected an integer, got '1.5'"),
                          ("'abc' is not a valid int.", "expected an integer, got 'abc'"),
                          ("'x' is not a valid boolean.", "expected a boolean, got 'x'"),
                          ("something else.", "something else")]:
        assert _bad_value(mod.BadParameter(message)) == want


def test_messages_that_misled_now_name_the_real_problem(cli, tmp_path: Path, bundled: Path) -> None:
    """Issue #19's misleading messages: each input or option problem said as what it is, in one line,
    and an empty path never quietly becomes the current folder."""
    import polars as pl

    pq = tmp_path / "pq.jsonl"
    pl.DataFrame({"id": ["a"], "correct": [1]}).write_parquet(pq)
    text = tmp_path / "text.parquet"
    text.write_text('{"id": "a", "correct": 1}\n')
    (tmp_path / "adir").mkdir()
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "broken.jsonl").symlink_to(tmp_path / "nothere.jsonl")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\x94\x00\xff{}")
    work = tmp_path / "cwd"
    work.mkdir()
    cases = [
        (["eval", str(pq)], ["a Parquet file (it starts with PAR1) named '.jsonl'; rename it .parquet"]),
        (["eval", str(text)], ["not a Parquet file (it does not start with PAR1)"]),
        (["eval", str(tmp_path / "adir")], ["adir: is a directory; pass the files inside it"]),
        (["eval", str(tmp_path / "loop1")], ["loop1: a loop of symbolic links"]),
        (["eval", str(tmp_path / "broken.jsonl")], ["broken.jsonl: a broken symbolic link (to '", "nothere.jsonl'"]),
        (["train", "--config", str(binary), "--steps", "1"], ["--config", "not UTF-8 text (byte 0x94 at byte 1)"]),
        (["report", "--out", "", "--n-boot", "20"], ["--out: empty path"]),
        (["lab", "run", "-o", "rloo", "--out="], ["--out: empty path"]),
        (["reproduce", "--quick", "--only", "1", "--out", ""], ["--out: empty path"]),
        (["theory", "--plot", " "], ["--plot: empty path"]),
    ]
    # (run in an empty folder: before, an empty --out wrote there)
    results = cli.many([argv for argv, _ in cases], prelude=f"import os\nos.chdir({str(work)!r})\n")
    for (argv, fragments), res in zip(cases, results):
        cli.one_line_error(res, *fragments)
    assert list(work.iterdir()) == []


def test_read_names_a_bad_paths_argument() -> None:
    from passlens.io import InputError, read

    for bad, got in ((None, "NoneType"), (3, "int"), (["a.jsonl", None], "a list holding NoneType")):
        with pytest.raises(InputError, match=rf"^paths: expected a path \(str or Path\) or a list of them, got {got}$"):
            read(bad)  # type: ignore[arg-type]
