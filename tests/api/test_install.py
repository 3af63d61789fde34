"""A plain (not editable) install runs the whole demo: the package carries everything it needs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _source_copy(dest: Path) -> Path:
    """The files git tracks or would track, copied out, so the build writes nothing into the working tree."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    for name in files.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.slow
def test_a_plain_install_into_a_fresh_venv_runs_the_demo(tmp_path):
    source = _source_copy(tmp_path / "source")
    venv = tmp_path / "venv"
    # The dependencies (and pip and setuptools) come from this interpreter's site-packages;
    # artbandit itself is built from the source copy and installed into the venv as a regular
    # (non-editable) package.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-build-isolation", str(source)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    where = subprocess.run([python, "-c", "import api.demo, artwork; print(api.demo.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), f"imported from {where}, not from the installed package"
    shutil.rmtree(source)  # nothing of the source tree is needed from here on
    demo = subprocess.run([venv / "bin" / "artbandit", "demo", "--out", str(tmp_path / "demo"),
                           "--decisions", "300", "--users", "30", "--seed", "5"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Offline replay" in demo.stdout and (tmp_path / "demo" / "summary.json").is_file()
