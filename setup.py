"""Package build hook: compile the GOV.UK Frontend assets into webapp/static/build before packaging.

Everything else about the package is declared in pyproject.toml. The compiled assets are not in git,
so without this hook `pip install .` or `pip wheel .` from a clean clone would give a site with no
stylesheet or scripts. Both the wheel (build_py) and the sdist ship the compiled files, so installing
from an sdist needs no Node.js; building from a source tree needs npm when the assets are missing or
older than their inputs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import ExecError, PlatformError

ROOT = Path(__file__).resolve().parent
BUILD_DIR = ROOT / "webapp" / "static" / "build"
# What scripts/build-assets.mjs writes (webapp/server.py checks the same files before serving).
OUTPUTS = ("app.css", "govuk-frontend.min.js", "manifest.json", "images")
INPUTS = ("package.json", "package-lock.json", "scripts/build-assets.mjs", "webapp/assets")
BUILD_COMMAND = "npm ci && npm run build"


def _mtimes(path: Path) -> list[float]:
    if path.is_dir():
        return [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
    return [path.stat().st_mtime] if path.exists() else []


def assets_are_current() -> bool:
    outputs = [BUILD_DIR / name for name in OUTPUTS]
    if not all(p.exists() for p in outputs):
        return False
    inputs = [t for name in INPUTS for t in _mtimes(ROOT / name)]
    built = [t for p in outputs for t in _mtimes(p)]
    return bool(built) and max(inputs, default=0.0) <= min(built)


class build_assets(Command):
    description = f"compile the web assets into webapp/static/build ({BUILD_COMMAND})"
    user_options: list[tuple[str, str | None, str]] = []  # noqa: RUF012  (setuptools reads a class attribute)

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        if assets_are_current():
            return
        if not (ROOT / "package-lock.json").exists():
            if (BUILD_DIR / "app.css").exists():
                return  # an sdist without the npm inputs: its shipped assets are all there is
            raise PlatformError("webapp/static/build is missing and there is no package-lock.json to build it from")
        npm = shutil.which("npm")
        if npm is None:
            raise PlatformError(f"the web assets in webapp/static/build are missing or out of date and npm was not "
                                f"found: install Node.js and npm, then run `{BUILD_COMMAND}` (or "
                                f"`bash scripts/install.sh`) in {ROOT}")
        lock = ROOT / "node_modules" / ".package-lock.json"
        # npm ci deletes and reinstalls node_modules; skip it when the lock file has not changed since.
        steps = [[npm, "run", "--silent", "build"]]
        if not lock.exists() or lock.stat().st_mtime < (ROOT / "package-lock.json").stat().st_mtime:
            steps.insert(0, [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"])
        for step in steps:
            self.announce(f"running {' '.join(step[1:])}", level=2)
            if subprocess.run(step, cwd=ROOT, check=False).returncode != 0:
                raise ExecError(f"`npm {' '.join(step[1:])}` failed while building the web assets; "
                                f"run `{BUILD_COMMAND}` in {ROOT} to see why")


class build_py_with_assets(build_py):
    def run(self) -> None:
        self.run_command("build_assets")
        # The package-data file list may have been globbed (by egg_info) before the assets existed.
        self.__dict__.pop("data_files", None)
        super().run()


class sdist_with_assets(sdist):
    def run(self) -> None:
        self.run_command("build_assets")
        super().run()


setup(cmdclass={"build_assets": build_assets, "build_py": build_py_with_assets, "sdist": sdist_with_assets})
