"""The repository root must never shadow the standard library's ``platform`` module."""

import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_platform_folder_is_not_a_package():
    assert (ROOT / "platform" / "linli").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_is_not_shadowed_from_the_repo_root():
    # given: Python started in the repo root, with the root first on sys.path
    code = (
        "import sys, platform, uuid; sys.path.insert(0, '.');"
        "import importlib; importlib.reload(platform);"
        "print(platform.__file__); print(platform.system())"
    )
    # when
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # then: it is the stdlib's module, and it works (Django's uuid use depends on it)
    assert Path(out[0]).resolve().parent == Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert out[1] == platform.system()


def test_ruff_flags_a_package_that_shadows_the_stdlib(tmp_path):
    # given: a copy of the project's configuration next to the mistake this layout avoids
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "__init__.py").write_text("")
    ruff = Path(sys.executable).parent / "ruff"
    # when
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True
    )
    # then
    assert result.returncode == 1
    assert "A005" in result.stdout
