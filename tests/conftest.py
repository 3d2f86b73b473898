"""Shared fixtures: the real ``passlens`` entry point, the bundled data, JSONL inputs.

``cli.run(*args)`` runs ``python -m passlens ARGS`` in its own interpreter; ``cli.many(argvs)``
runs a matrix of invocations through the same ``passlens.cli.main`` inside ONE subprocess, since
each interpreter pays seconds of imports (numpy, scipy, polars; torch for ``train``) on a small
machine; ``cli.invoke(*args)`` calls that ``main`` in the test's own interpreter. The subprocesses
import the passlens under test (its ``src`` first on PYTHONPATH).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pytest

import passlens

SRC = Path(passlens.__file__).parents[1]
BUNDLED = Path(passlens.__file__).parent / "data" / "deepscaler32k"

#: Wide output (no wrapped table cells or messages), no colour, no display, one BLAS thread.
DEFAULT_ENV = {"COLUMNS": "200", "NO_COLOR": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}

# passlens.cli.main once per argv (JSON list in argv[1], each prefixed by argv[2]'s JSON list);
# prints [[exit code, stdout, stderr], …] as the last line.
_BATCH = (
    "import contextlib, io, json, sys\n"
    "{prelude}"
    "from passlens.cli import main\n"
    "prefix = json.loads(sys.argv[2])\n"
    "results = []\n"
    "for argv in json.loads(sys.argv[1]):\n"
    "    out, err = io.StringIO(), io.StringIO()\n"
    "    sys.argv = ['passlens', *prefix, *argv]\n"
    "    code = 0\n"
    "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
    "        try:\n"
    "            main()\n"
    "        except SystemExit as exc:\n"
    "            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)\n"
    "    results.append([code, out.getvalue(), err.getvalue()])\n"
    "print(json.dumps(results))\n"
)


@dataclasses.dataclass(frozen=True)
class Cli:
    """How the tests run ``passlens``.

    Attributes:
      env: variables set on top of the environment (:data:`DEFAULT_ENV` unless configured).
      clean_env: start from PATH alone instead of this process's environment (no HOME, no LANG:
        the entry point must need neither).
    """

    env: dict[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_ENV))
    clean_env: bool = False

    def configured(self, *, clean_env: bool | None = None, **env: str) -> Cli:
        """A runner with ``env`` added (and ``clean_env`` changed when given)."""
        return Cli({**self.env, **env}, self.clean_env if clean_env is None else clean_env)

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        base = {"PATH": "/usr/bin:/bin"} if self.clean_env else dict(os.environ)
        path = os.pathsep.join(p for p in (str(SRC), base.get("PYTHONPATH", "")) if p)
        return {**base, **self.env, **(extra or {}), "PYTHONPATH": path}

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m passlens ARGS`` in a subprocess (``input``: its standard input, else none)."""
        return subprocess.run([sys.executable, "-m", "passlens", *args], capture_output=True, text=True, cwd=cwd,
                              env=self.environ(env), timeout=timeout, input=input)

    def popen(self, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[str]:
        """``python -m passlens ARGS`` started, not waited for (signals, timing)."""
        return subprocess.Popen([sys.executable, "-m", "passlens", *args], text=True, env=self.environ(env), **kwargs)

    def many(self, argvs: Sequence[Sequence[str]], *, prefix: Sequence[str] = (), prelude: str = "",
             env: dict[str, str] | None = None, timeout: float = 300) -> list[subprocess.CompletedProcess[str]]:
        """``passlens *prefix *argv`` for each argv, all in one subprocess.

        ``prelude`` is Python run before passlens is imported (e.g. an import blocker).
        """
        argvs = [list(a) for a in argvs]
        p = subprocess.run(
            [sys.executable, "-c", _BATCH.format(prelude=prelude), json.dumps(argvs), json.dumps(list(prefix))],
            capture_output=True, text=True, timeout=timeout, env=self.environ(env),
        )
        assert p.returncode == 0, p.stderr
        results = json.loads(p.stdout.strip().splitlines()[-1])
        return [subprocess.CompletedProcess([*prefix, *a], code, out, err) for a, (code, out, err) in zip(argvs, results)]

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``passlens ARGS`` through :func:`passlens.cli.main` in this interpreter (no import cost; the
        environment of this process, output width included)."""
        import contextlib
        import io

        from passlens.cli import main

        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return subprocess.CompletedProcess(["passlens", *args], code, out.getvalue(), err.getvalue())

    @staticmethod
    def one_line_error(res: subprocess.CompletedProcess[str], *fragments: str) -> str:
        """Assert exit 2 and one line ``passlens: error: …`` on stderr holding every fragment, no
        traceback anywhere; returns the line."""
        assert res.returncode == 2, (res.args, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr + res.stdout, res.stderr
        lines = [x for x in res.stderr.splitlines() if x.strip()]
        assert len(lines) == 1, res.stderr
        assert lines[0].startswith("passlens: error: "), res.stderr
        for frag in fragments:
            assert frag in lines[0], (res.args, frag, lines[0])
        return lines[0]


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The real entry point in subprocesses (see :class:`Cli`)."""
    return Cli()


@pytest.fixture(scope="session")
def bundled() -> Path:
    """The bundled DeepScaleR counts: ``base.jsonl`` and ``rl.jsonl`` (1060 problems, n = 128)."""
    return BUNDLED


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def write_jsonl() -> Callable[[Path, Iterable[dict[str, Any]]], Path]:
    """``write_jsonl(path, rows)``: one JSON object per line; returns the path."""
    return _write_jsonl


def _memoised(module: object) -> list[Any]:
    """The ``functools.lru_cache`` functions defined at the top of ``module``."""
    return [f for f in vars(module).values() if callable(getattr(f, "cache_clear", None))]


@pytest.fixture(autouse=True)
def _cold_caches() -> None:
    # Every test computes the package's memoised values afresh (parsed composite specs, the pkpo and
    # majority tables, …): a value cached by an earlier test would otherwise hide the code that makes
    # it, from the test and from a mutation run (whose mutants fork from a process that ran the tests).
    for name, module in list(sys.modules.items()):
        if name.startswith("passlens.") and module is not None:
            for f in _memoised(module):
                f.cache_clear()
