"""The package carries its compiled web assets however it is built, and `kb serve` refuses without them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from flask import Flask

import webapp.server
from kbcli.main import cli

ROOT = Path(__file__).resolve().parent.parent
ASSETS = [f"webapp/static/build/{name}" for name in webapp.server.REQUIRED_ASSETS]


def _clean_copy(target: Path) -> None:
    """The tree as a clean clone of it would be (tracked and unignored files), plus what saves a download."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    # An installed node_modules lets the build run `npm run build` without fetching anything.
    if (ROOT / "node_modules").is_dir():
        shutil.copytree(ROOT / "node_modules", target / "node_modules", symlinks=True)
    elif shutil.which("npm") is None:
        pytest.skip("neither node_modules nor npm here to build the web assets")


@pytest.mark.slow
def test_wheel_and_sdist_of_a_clean_tree_contain_the_compiled_assets(tmp_path):
    # pyproject.toml's license expression needs setuptools 77; without build isolation the test's own is used.
    if int(metadata.version("setuptools").split(".")[0]) < 77:
        pytest.skip("setuptools older than 77 here (pip install 'setuptools>=77')")
    source, out = tmp_path / "src", tmp_path / "dist"
    source.mkdir()
    _clean_copy(source)
    assert not (source / "webapp" / "static" / "build").exists()  # git ignores it: the build must make it

    # No build isolation, so nothing is fetched.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "-w", str(out), "--no-deps",
                            "--no-build-isolation", "--no-index", "-q"], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("innovation_kb-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert set(ASSETS) <= names
        assert any(n.startswith("webapp/static/build/images/") for n in names)
        css = archive.read("webapp/static/build/app.css")
    assert css == (source / "webapp" / "static" / "build" / "app.css").read_bytes()
    assert b".govuk-header" in css  # GOV.UK Frontend compiled in, not an empty stylesheet

    sdist = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                            "print(b.build_sdist(sys.argv[1]))", str(out)],
                           cwd=source, capture_output=True, text=True, check=False)
    assert sdist.returncode == 0, sdist.stdout + sdist.stderr
    with tarfile.open(out / sdist.stdout.split()[-1]) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    # The compiled assets, so that a wheel built from the sdist needs no Node.js, and what rebuilds them.
    assert set(ASSETS) | {"package-lock.json", "scripts/build-assets.mjs", "webapp/assets/app.scss"} <= names


@pytest.fixture
def no_server(monkeypatch):
    """Record a server start instead of starting one."""
    started: list[str] = []
    monkeypatch.setattr(webapp.server, "run_gunicorn", lambda *args: started.append("gunicorn"))
    # Nor keep torch out of the test process (Haystack would remember it as missing for later tests).
    monkeypatch.setattr(webapp.server, "keep_torch_out", lambda settings: False)
    monkeypatch.setattr(Flask, "run", lambda *args, **kwargs: started.append("flask"))
    return started


@pytest.mark.parametrize("args", [[], ["--dev"]])
def test_serve_refuses_without_the_compiled_assets(runner, monkeypatch, no_server, tmp_path, args):
    monkeypatch.setattr(webapp.server, "ASSETS_DIR", tmp_path / "build")
    result = runner.invoke(cli, ["serve", "--data-dir", str(tmp_path / "data"), *args], obj={},
                           env={"KB_CANARIES": ""})
    assert result.exit_code == 1
    assert no_server == []
    (line,) = result.output.strip().splitlines()
    assert "`npm ci && npm run build`" in line and "bash scripts/install.sh" in line and "app.css" in line


@pytest.mark.parametrize("args, server", [([], "gunicorn"), (["--dev"], "flask")])
def test_serve_starts_with_the_compiled_assets(runner, monkeypatch, no_server, tmp_path, args, server):
    assets = tmp_path / "build"
    assets.mkdir()
    for name in webapp.server.REQUIRED_ASSETS:
        (assets / name).write_text("/* built */")
    monkeypatch.setattr(webapp.server, "ASSETS_DIR", assets)
    result = runner.invoke(cli, ["serve", "--data-dir", str(tmp_path / "data"), *args], obj={},
                           env={"KB_CANARIES": ""})
    assert result.exit_code == 0, result.output
    assert no_server == [server]
