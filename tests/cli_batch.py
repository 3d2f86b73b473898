"""Run many ``passlens`` CLI invocations through ``passlens.cli.main`` inside ONE subprocess.

Importing the package (numpy, scipy, polars, torch for ``train``) costs seconds of CPU per
interpreter on a shared 2-core machine, so test matrices of invocations share one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


def run_cli_batch(argvs: list[list[str]], *, prefix: tuple[str, ...] = (), prelude: str = "",
                  env: dict[str, str] | None = None) -> list[tuple[int, str, str]]:
    """``passlens *prefix *argv`` for each argv, in one subprocess: [(exit code, stdout, stderr)].

    ``prelude`` is Python run before passlens is imported (e.g. an import blocker);
    ``env`` is added to the environment.
    """
    full_env = dict(os.environ, **(env or {}))
    p = subprocess.run(
        [sys.executable, "-c", _BATCH.format(prelude=prelude), json.dumps(argvs), json.dumps(list(prefix))],
        capture_output=True, text=True, timeout=300, env=full_env,
    )
    assert p.returncode == 0, p.stderr
    return [tuple(r) for r in json.loads(p.stdout.strip().splitlines()[-1])]  # type: ignore[misc]
