"""What the commands say about their inputs: notes only about the user's own files, and only what was written.

Through the real entry point (``cli.many``: one subprocess for the matrix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_report_says_what_it_wrote_and_notes_nothing_about_the_bundled_data(tmp_path: Path, cli: Any) -> None:
    user = tmp_path / "mine.jsonl"
    user.write_text("".join(json.dumps({"id": f"p{i}", "c": i % 3, "n": 4, "source": "x"}) + "\n" for i in range(6)))
    no_html, html, mine = cli.many(
        [
            ["report", "--no-html", "--out", str(tmp_path / "a"), "--n-boot", "20", "--k", "1,2,4"],
            ["report", "--out", str(tmp_path / "b"), "--n-boot", "20", "--k", "1,2,4"],
            ["eval", str(user), "--k", "1,2"],
        ]
    )
    for res, out in ((no_html, "a"), (html, "b")):
        assert res.returncode == 0, res.stderr
        text = " ".join(res.stdout.split())
        assert "not used" not in text  # the bundled files' source column is documented, not the user's business
        written = sorted(p.name for p in (tmp_path / out).iterdir())
        assert ("report.html" in written) == (out == "b")
        says = text.split(f"report written to {tmp_path / out} (")[1].split(")")[0]
        assert says == ("report.html, " if out == "b" else "") + "metrics.json, curves.csv, figures"
    assert mine.returncode == 0 and "column(s) not used: source" in " ".join(mine.stdout.split())  # a user's file
