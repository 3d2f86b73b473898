"""What the commands say about their inputs: notes only about the user's own files.

Through the real entry point (``cli.many``: one subprocess for the matrix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_notes_are_about_the_users_files_not_the_bundled_data(tmp_path: Path, cli: Any) -> None:
    user = tmp_path / "mine.jsonl"
    user.write_text("".join(json.dumps({"id": f"p{i}", "c": i % 3, "n": 4, "source": "x"}) + "\n" for i in range(6)))
    bundled, mine = cli.many([
        ["report", "--no-html", "--out", str(tmp_path / "a"), "--n-boot", "20", "--k", "1,2,4"],
        ["eval", str(user), "--k", "1,2"],
    ])
    assert bundled.returncode == 0, bundled.stderr
    assert "not used" not in " ".join(bundled.stdout.split())  # the bundled files' source column is documented
    assert mine.returncode == 0 and "column(s) not used: source" in " ".join(mine.stdout.split())  # a user's file
