"""The ``passlens`` command line: thin typer commands over the library (no math, no tables here).

Every user error (bad file, bad option, k > n, …) ends with one line on stderr
and exit status 2; nothing prints a traceback.

Layout, one way down: this package builds the app, mounts one module per command
(:mod:`.eval`, :mod:`.compare`, :mod:`.report`, :mod:`.theory`, :mod:`.train`, :mod:`.lab`,
:mod:`.reproduce`) and runs it in :func:`main`; the commands import the helpers at the
bottom (:mod:`._common`: consoles, limits, option checks, budgets, inputs, machine output;
:mod:`._errors`: click's usage errors as one line) and the library, never each other
nor this package. Tables and sentences come from :mod:`passlens.report`.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from .._version import __version__
from ._common import K_MAX, MAX_BUDGETS, Interrupted, UserError, console, error_console, parse_k_list, parse_ks
from ._errors import click_exceptions, one_line, usage_message
from .compare import compare_cmd
from .eval import eval_cmd
from .lab import lab_app
from .report import report_cmd
from .reproduce import reproduce_cmd
from .theory import theory_app
from .train import train_cmd

__all__ = ["app", "main", "parse_ks", "parse_k_list", "UserError", "K_MAX", "MAX_BUDGETS"]

app = typer.Typer(
    name="passlens",
    help=(
        "Is my policy still exploring? Exact pass@k / pass^k / max@k / maj@k from sample logs, with "
        "confidence intervals, paired model comparison and exploration diagnostics.\n\n"
        "Example: passlens report   (the bundled DeepScaleR base vs RL counts)"
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"passlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version."),
) -> None:
    """Exact pass@k-family estimators, uncertainty and exploration diagnostics for RLVR."""


# Mounted in the order --help lists them.
app.command("eval")(eval_cmd)
app.command("compare")(compare_cmd)
app.add_typer(theory_app, name="theory")
app.command("report")(report_cmd)
app.command("train")(train_cmd)
app.add_typer(lab_app, name="lab")
app.command("reproduce")(reproduce_cmd)


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point. Every user error — a bad file, a bad option value, an unknown option, k > n —
    prints one line ``passlens: error: …`` on stderr and exits 2, without a traceback;
    --help and --version exit 0; no arguments prints the help and exits 2 (click's convention).
    """
    mod = click_exceptions()
    no_args_help = getattr(mod, "NoArgsIsHelpError", ())
    try:
        # standalone_mode=False: click raises its usage errors here instead of printing a usage box.
        rv = app(args=argv, standalone_mode=False)
    except no_args_help:  # the help is already printed
        sys.exit(2)
    except mod.ClickException as exc:
        error_console.print(f"passlens: error: {usage_message(exc)}", markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:  # end of input at a prompt
        error_console.print("passlens: aborted", markup=False)
        sys.exit(1)
    except (UserError, ValueError) as exc:  # ValueError includes passlens.io.InputError
        error_console.print(f"passlens: error: {one_line(str(exc))}", markup=False)
        sys.exit(2)
    except Interrupted as exc:
        error_console.print(f"passlens: {one_line(str(exc))}", markup=False)
        sys.exit(130)
    # typer.Exit(code) raised inside a command comes back as the return value in this mode
    if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
        if rv == 130:  # typer's answer to Ctrl-C (KeyboardInterrupt → Exit(130)); no command exits 130 itself
            error_console.print("passlens: interrupted", markup=False)
        sys.exit(rv)
