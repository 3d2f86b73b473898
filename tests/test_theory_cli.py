"""``passlens theory`` through the real entry point in subprocesses.

Each test makes at least one true ``python -m passlens theory …`` call. Matrices of
cases (bad options, variants) go through the same ``passlens.cli.main`` that
``python -m passlens`` runs, but all inside ONE extra subprocess per matrix:
importing the package (scipy included) costs ~2 s of CPU per interpreter, and the
suite has to stay fast on 2 cores.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# Blocks every matplotlib import, as if it were not installed.
BLOCK_MATPLOTLIB = (
    "class _Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'matplotlib':\n"
    "            raise ImportError('No module named matplotlib')\n"
    "sys.meta_path.insert(0, _Block())\n"
)

def table_rows(text: str) -> list[list[str]]:
    """Cells of the body rows of rich tables in ``text``."""
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]


BAD_THEORY = [
    (["--k", "0"], ["--k", "≥ 1"]),
    (["--k", "1,x"], ["--k", "'x'"]),
    (["--k", ""], ["--k"]),
    (["--p", "0"], ["--p", "(0, 1)"]),
    (["--p", "0.5,1"], ["--p", "(0, 1)"]),
    (["--p", "1.5"], ["--p", "1.5"]),
    (["--p", "abc"], ["--p", "'abc'"]),
]

VARIANCE_ARGS = ["variance", "--k", "4", "--n", "16", "--p", "0.1,0.5", "--draws", "400", "--seed", "3"]

BAD_VARIANCE = [
    (["--k", "0"], ["--k", "≥ 1"]),
    (["--k", "four"], ["--k", "'four'"]),
    (["--n", "x"], ["--n"]),
    (["--p", "0.2,1.0"], ["--p", "(0, 1)"]),
    (["--p", "0.2,,0.3"], ["--p"]),
    (["--draws", "0"], ["--draws"]),
    (["--k", "20", "--n", "16"], ["k"]),
    (["--estimator", "no_such_estimator"], ["no_such_estimator"]),
]


@pytest.fixture(scope="module")
def batch(cli) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    """Every matrix case, in one subprocess."""
    groups: dict[str, list[list[str]]] = {
        "grid": [["--k", "1,4", "--p", "0.01,0.5"]],
        "help": [["variance", "--help"]],
        "bad_theory": [a for a, _ in BAD_THEORY],
        "bad_variance": [["variance", *(a if "--draws" in a else ["--draws", "50", *a])] for a, _ in BAD_VARIANCE],
        "variance": [VARIANCE_ARGS, [*VARIANCE_ARGS, "--estimator", "pkpo:variant=loo-1"]],
    }
    flat = [argv for argvs in groups.values() for argv in argvs]
    results = iter(cli.many(flat, prefix=("theory",)))
    return {name: [next(results) for _ in argvs] for name, argvs in groups.items()}


def test_default_table(cli) -> None:
    res = cli.run("theory")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for header in ("α_k(p) = k(1−p)^(k−1)", "J_k(p) = 1 − (1−p)^k", "J_k − J_1", "k²p(1−p)^(2k−1)", "where the gap peaks"):
        assert header in out
    assert "k=32" in out and "0.001" in out and "0.99" in out
    assert "31.02" in out  # α_32(0.001) = 32·0.999^31
    assert "0.1058" in out and "0.8663" in out  # p*_32 and the peak gap at k = 32
    assert len(table_rows(out)) == 4 * 10 + 6  # four p × k tables of 10 p values, one row per k for p*


def test_custom_grid_values(batch) -> None:
    (res,) = batch["grid"]
    assert res.returncode == 0, res.stderr
    rows = table_rows(res.stdout)
    # rows per table: p = 0.01, 0.5 with columns p, k=1, k=4; then the p* table
    alpha_rows, j_rows, gap_rows, sig_rows, star_rows = rows[0:2], rows[2:4], rows[4:6], rows[6:8], rows[8:]
    assert alpha_rows == [["0.01", "1", "3.881"], ["0.5", "1", "0.5"]]  # 4·0.99³, 4·0.5³
    assert j_rows[1] == ["0.5", "0.5", "0.9375"]  # 15/16
    assert gap_rows[1] == ["0.5", "0", "0.4375"]  # 7/16
    assert sig_rows[0] == ["0.01", "0.0099", "0.1491"]  # 16·0.01·0.99⁷
    assert star_rows == [["1", "—", "0"], ["4", "0.37", "0.4725"]]
    assert "k=8" not in res.stdout


def test_bad_options_give_one_line_and_exit_2(cli, batch) -> None:
    cli.one_line_error(cli.run("theory", "--k", "0"), "--k", "≥ 1")
    for (_, fragments), res in zip(BAD_THEORY, batch["bad_theory"]):
        cli.one_line_error(res, *fragments)


def test_help_shows_examples(cli, batch) -> None:
    res = cli.run("theory", "--help")
    assert res.returncode == 0, res.stderr
    assert "Example: passlens theory --k" in res.stdout and "variance" in res.stdout
    (vres,) = batch["help"]
    assert vres.returncode == 0, vres.stderr
    assert "Example: passlens theory variance --k 4 --n 16" in vres.stdout
    for opt in ("--estimator", "--draws", "--seed", "--plot"):
        assert opt in vres.stdout


def test_plot_writes_three_pngs(cli, tmp_path: Path) -> None:
    out_dir = tmp_path / "figs" / "nested"
    res = cli.run("theory", "--k", "1,2,8", "--plot", str(out_dir))
    assert res.returncode == 0, res.stderr
    for name in ("alpha.png", "gap.png", "signal.png"):
        data = (out_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
        assert f"wrote {out_dir / name}" in res.stdout


def test_plot_without_matplotlib_is_a_one_line_error(cli, tmp_path: Path) -> None:
    figs = tmp_path / "figs"
    bad, ok = cli.many([["--plot", str(figs)], ["--k", "2", "--p", "0.5"]], prefix=("theory",), prelude=BLOCK_MATPLOTLIB)
    cli.one_line_error(bad, "matplotlib")
    assert not figs.exists()
    assert bad.stdout == ""  # fails before printing any table
    # without --plot the same setup works: matplotlib is only needed for plots
    assert ok.returncode == 0, ok.stderr
    assert ["0.5", "0.75"] in table_rows(ok.stdout)  # J_2(0.5)


def test_variance_renders_the_variance_table(cli, batch, tmp_path: Path) -> None:
    from passlens.lab.variance import variance_table

    res = cli.run("theory", *VARIANCE_ARGS, "--plot", str(tmp_path))
    assert res.returncode == 0, res.stderr
    rows = variance_table(4, 16, [0.1, 0.5], draws=400, seed=3)
    assert rows, "variance_table returned no rows"
    cells = table_rows(res.stdout)
    assert len(cells) == len(rows)
    for cell, row in zip(cells, rows):
        assert cell[0] == row.estimator and float(cell[1]) == row.p
        assert float(cell[2]) == pytest.approx(row.variance, rel=1e-3)  # 4 significant digits shown
        if row.closed_form is None:
            assert cell[3] == "—"
        else:
            assert float(cell[3]) == pytest.approx(row.closed_form, rel=1e-3)
    png = (tmp_path / "variance_k4_n16.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 5_000
    same, one = batch["variance"]
    assert same.returncode == 0 and table_rows(same.stdout) == cells  # same seed → same table
    assert one.returncode == 0, one.stderr
    body = table_rows(one.stdout)
    assert len(body) == 2 and all(c[0] == "pkpo:k=4,variant=loo-1" for c in body)


def test_variance_bad_options(cli, batch) -> None:
    cli.one_line_error(cli.run("theory", "variance", "--p", "0.2,1.0"), "--p", "(0, 1)")
    for (_, fragments), res in zip(BAD_VARIANCE, batch["bad_variance"]):
        cli.one_line_error(res, *fragments)
