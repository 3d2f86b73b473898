"""Every output goes through passlens._output.write_file: atomic for regular files, written through
for symbolic links, streamed into devices and FIFOs (never replaced), one-line errors, no temporaries."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from passlens._output import OutputError, write_file


def test_a_regular_file_is_replaced_whole_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    write_file(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.bin"
    write_file(fresh, b"\x00\x01")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.read_bytes() == b"\x00\x01" and stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    write_file(tmp_path / "w.txt", lambda fh: fh.write(b"from a writer"))
    assert (tmp_path / "w.txt").read_text() == "from a writer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.bin", "out.json", "w.txt"]  # no temporaries


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert write_file(link, "new") == real
    assert link.is_symlink() and real.read_text() == "new"


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_file(fifo, "streamed")
    reader.join(timeout=10)
    assert got == [b"streamed"] and stat.S_ISFIFO(fifo.stat().st_mode)
    write_file("/dev/null", "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_failures_are_one_line_and_leave_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "latest.pt"
    target.write_bytes(b"old")

    def interrupted(fh: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_file(target, interrupted)

    def torch_like(fh: object) -> None:  # torch's stream writer on a full disk
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 128 vs 64\nmore")

    with pytest.raises(OutputError, match=r"^x\.pt: cannot write: \[enforce fail .* vs 64$"):
        write_file(target, torch_like, label="x.pt")

    def full_disk(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError, match=f"^{target}: cannot write: No space left on device$"):
        write_file(target, "new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt"]
    with pytest.raises(OutputError, match="it is a directory"):
        write_file(tmp_path, "x")
    with pytest.raises(OutputError, match="cannot write to"):
        write_file(tmp_path / "missing" / "f.json", "x")


def test_cli_outputs_refuse_one_path_twice_and_keep_a_fifo(cli, bundled: Path, tmp_path: Path) -> None:
    base = str(bundled / "base.jsonl")
    same = tmp_path / "both"
    res = cli.run("eval", base, "--json", str(same), "--csv", str(same), "--n-boot", "20")
    assert res.returncode == 2 and "--json and --csv both write" in res.stderr and res.stderr.count("\n") == 1
    assert not same.exists()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = cli.run("eval", base, "--json", str(fifo), "--k", "1,2", "--n-boot", "20")
    reader.join(timeout=60)
    assert res.returncode == 0, res.stderr
    assert got and got[0].startswith(b"{") and stat.S_ISFIFO(fifo.stat().st_mode)
