"""``passlens reproduce``: the seed paper's testable claims, measured and judged (a thin layer over
:mod:`passlens.lab.claims`).

No math lives here. Bad input raises ValueError with one line; the entry point prints it and exits
with status 2. The command exits 1 when a claim fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from .._output import write_file
from ..report.tables import claims_table
from ._common import comma_items, wide_console

__all__ = ["reproduce_cmd"]


def _parse_only(text: str, valid: Any) -> list[str]:
    """Claim ids of ``--only``; ValueError naming --only for an empty list, a blank entry or an unknown id."""
    parts = comma_items(text, "--only", "claim id", "1,4,N1")
    bad = [p for p in parts if p not in valid]
    if bad:
        raise ValueError(f"--only: unknown claim id(s) {', '.join(repr(b) for b in bad)}; valid: {', '.join(valid)}")
    return parts


def reproduce_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for figures and claims.json (created, or reused with those files replaced)."),
    quick: bool = typer.Option(False, "--quick", help="Smaller Monte Carlo sizes and runs (seconds, for tests)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma list of claim ids (1..13, A7, A8, N1)."),
    seed: int = typer.Option(0, "--seed", help=(
        "Run seed S, 0–4294967295: redraws every random input of the claims (Monte Carlo samples, random inits,"
        " lab populations) from streams seeded by (claim stream, S), to check that they hold beyond one draw."
        " 0 (default) gives the published numbers; exact identities do not change.")),
) -> None:
    """Run the seed paper's 13 testable claims plus PKPO anchors A7/A8 and the coverage result N1.

    Prints claim, measurement, value, criterion and holds/fails; exits 1 if any claim fails.

    Example: passlens reproduce --only 2,9,N1 --out runs/claims
    """
    from ..lab.claims import CLAIMS, run_claims
    from ..lab.dynamics import check_int_option, make_out_dir

    seed = check_int_option("seed", seed)
    ids = None if only is None else _parse_only(only, CLAIMS)
    if out is not None:
        make_out_dir(out)  # before the claims run: an unusable --out fails at once
    with wide_console.status("running claims") as status:
        results = run_claims(quick=quick, only=ids, seed=seed, progress=lambda c: status.update(escape(f"claim {c}")))
    title = "Yu 2025 (arXiv 2511.16231) testable claims + anchors" + (" [quick]" if quick else "") + (f" [seed {seed}]" if seed else "")
    wide_console.print(claims_table(results, title))
    failed = [r.id for r in results if not r.holds]
    total = sum(r.seconds for r in results)
    wide_console.print(escape(f"{len(results) - len(failed)}/{len(results)} hold" + (f"; failing: {', '.join(failed)}" if failed else "") + f"  ({total:.1f} s)"))
    if out is not None:
        rows = [{k: v for k, v in vars(r).items() if k != "data"} for r in results]
        write_file(out / "claims.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")  # one-line error
        try:
            from ..lab.plots import plot_claims

            figs = plot_claims(results, out)
            wide_console.print(escape(f"wrote {out / 'claims.json'} and {len(figs)} figure(s) to {out}"))
        except ValueError as exc:  # matplotlib missing: the table and JSON still count
            wide_console.print(escape(f"wrote {out / 'claims.json'}; no figures ({exc})"))
        except OSError as exc:
            raise ValueError(f"cannot write figures to {out}: {exc.strerror or exc}") from None
    if failed:
        raise typer.Exit(1)
