"""The package as it would be published: the sdist and the wheel are built from the tracked files,
pass ``twine check``, carry the bundled data with its license and provenance, and the wheel installed
in a fresh venv runs the main job (``passlens report`` on the bundled pair).

The fresh venv gets the wheel alone (``--no-deps``, nothing from the network); its dependencies are
the test environment's, reached through a ``.pth`` line that puts that environment's site-packages
*after* the venv's own — a path listed in a ``.pth`` file is not itself a site directory, so the
editable install of this checkout there (its own ``.pth`` hook) is not loaded, and ``passlens`` can
only come from the wheel (checked: the imported module's file is inside the fresh venv).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from passlens._version import __version__

ROOT = Path(__file__).resolve().parents[1]
DATA = "passlens/data/deepscaler32k"


def _tracked_tree(dest: Path) -> Path:
    """A copy of the files git tracks (plus untracked, not ignored ones): what a clean clone builds."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():  # a deleted, not yet committed file is still listed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the 'build' package is in the test extra")
    tree = _tracked_tree(tmp_path_factory.mktemp("tree"))
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend (setuptools) of this environment, no download
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir", str(out), str(tree)],
        check=True, capture_output=True,
    )
    return out


def _one(dist: Path, pattern: str) -> Path:
    (path,) = dist.glob(pattern)
    return path


def test_twine_check_passes(dist: Path) -> None:
    pytest.importorskip("twine", reason="twine is in the test extra")
    files = [str(p) for p in sorted(dist.iterdir())]
    res = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("PASSED") == 2


def test_the_wheel_and_sdist_carry_the_data_its_license_and_provenance(dist: Path) -> None:
    wheel = _one(dist, f"passlens-{__version__}-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("base.jsonl", "rl.jsonl", "README.md", "LICENSE"):
        assert f"{DATA}/{f}" in names, f
    info = f"passlens-{__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    assert f"{info}/licenses/src/{DATA}/LICENSE" in names
    assert "passlens/py.typed" in names
    meta = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Requires-Python: >=3.10" in meta
    assert "Requires-Dist: polars" in meta
    sdist = _one(dist, f"passlens-{__version__}.tar.gz")
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    for f in ("LICENSE", "CHANGELOG.md", "README.md", f"src/{DATA}/LICENSE", f"src/{DATA}/base.jsonl"):
        assert f in members, f


def test_the_wheel_installed_in_a_fresh_venv_runs_the_main_job(dist: Path, tmp_path: Path) -> None:
    wheel = _one(dist, "passlens-*.whl")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    site = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    # the dependencies: this environment's site-packages, after the venv's own (see the module docstring)
    (site / "zz_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [py, "-c", "import passlens; print(passlens.__file__, passlens.__version__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(env) and where[1] == __version__
    res = subprocess.run(
        [env / "bin" / "passlens", "report", "--out", str(tmp_path / "report")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "rl vs base (1060 paired problems" in res.stdout
    assert {"report.html", "metrics.json", "curves.csv"} <= {p.name for p in (tmp_path / "report").iterdir()}
