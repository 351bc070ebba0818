"""Where a run finds the projects catalogue and the quality gate's canaries, the same way wherever it runs.

Both used to be read from the ``projects`` and ``canaries`` settings as paths relative to the working
directory: ``kb ingest /srv/corpus`` run from elsewhere built an index without projects and published it
without a quality gate, saying nothing (issue 26). Now each is looked for, in order:

0. an **absolute** configured path (``KB_PROJECTS=/etc/kb/projects.yaml``): named outright, it is the
   operator's choice and the same from anywhere;
1. **beside the ingested folder**: ``projects.yaml`` / ``canaries.yaml`` (the setting's file name) in the
   first folder given (or the folder of the first file given) that has one;
2. **configured**: the setting's relative path (such as the default ``corpus/projects.yaml``), from the
   working directory, as any path on a command line;
3. for the catalogue only, **the live index's catalogue**, so that a nightly run never drops a catalogue
   it cannot find (``ingest.projects.current_catalogue``);
4. **shipped with the package** (``ingest/data/projects.yaml``, ``ingest/data/canaries.yaml``: the
   default corpus's).

An empty setting switches the file off. Whatever was used is named in the run's report (``kb ingest``,
``kb reindex --json``, ``data/runs/<id>.json``) and by ``kb status``; running without one is a warning
on the console, and on ``/status``.

Usage::

    setup = find_setup(settings, ["corpus"])
    settings = setup.applied_to(settings)   # the build and the gate read the files found
    setup.warnings()                        # ["no quality gate: ...", ...]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from index.errors import KBError
from index.records import Found
from index.settings import Settings
from index.storage import open_generation
from index.storage.layout import PROJECTS_FILE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetupFile:
    """One set-up file a run used: what it is, where it was found, and how many entries it holds."""

    what: str  # "projects catalogue" or "canaries"
    setting: str  # the setting that names it
    path: Path | None
    found: Found
    entries: int = 0

    @property
    def used(self) -> bool:
        return self.found not in (Found.OFF, Found.MISSING)

    def describe(self) -> str:
        """'projects catalogue: 14 entries from /srv/corpus/projects.yaml (beside the ingested folder)'."""
        if not self.used:
            return f"{self.what}: none ({self.found.value})"
        where = f" from {self.path}" if self.path else ""
        return f"{self.what}: {self.entries} entries{where} ({self.found.value})"

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path else None, "found": self.found.value, "entries": self.entries}


@dataclass(frozen=True)
class Setup:
    """The projects catalogue and the canaries one run uses."""

    catalogue: SetupFile
    canaries: SetupFile

    def applied_to(self, settings: Settings) -> Settings:
        """``settings`` naming the files found (absolute paths), for the build and the gate to read."""
        projects = str(self.catalogue.path) if self.catalogue.path else ""
        if self.catalogue.found is Found.LIVE:  # a missing path keeps the live catalogue (current_catalogue)
            projects = settings.projects
        return replace(settings, projects=projects, canaries=str(self.canaries.path) if self.canaries.path else "")

    def warnings(self) -> list[str]:
        out = []
        if not self.catalogue.used:
            out.append(f"no projects catalogue ({self.catalogue.found.value}): sources are linked to no project "
                       f"and /projects will be empty. Put projects.yaml beside the folder you ingest, or set "
                       f"'{self.catalogue.setting}' to its path.")
        if not self.canaries.used:
            out.append(f"no quality gate canaries ({self.canaries.found.value}): the new index is published without "
                       f"checking that known searches still find their sources. Put canaries.yaml beside the "
                       f"folder you ingest, or set '{self.canaries.setting}' to its path.")
        return out

    def summary(self) -> str:
        return f"{self.catalogue.describe()}; {self.canaries.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"catalogue": self.catalogue.to_dict(), "canaries": self.canaries.to_dict()}


def shipped_file(name: str) -> Path:
    """A set-up file shipped in the package (``ingest/data/<name>``)."""
    return Path(str(resources.files("ingest").joinpath("data", name)))


def _count(what: str, path: Path) -> int:
    from ingest.gate import load_canaries
    from ingest.projects import load_catalogue

    return len(load_catalogue(path).projects) if what == "projects catalogue" else len(load_canaries(path))


def _live_catalogue_entries(settings: Settings) -> int | None:
    """How many projects the live index's catalogue holds; None when there is no live index or catalogue."""
    from ingest.projects import Catalogue

    try:
        live = open_generation(settings)
    except KBError:
        return None
    try:
        text = live.read_text(PROJECTS_FILE)
    finally:
        live.store.close()
    return len(Catalogue.from_json(text).projects) if text else None


def find_file(what: str, setting: str, configured: str, roots: Sequence[str | Path],
              live_entries: Callable[[], int | None] | None = None) -> SetupFile:
    """Look for one set-up file in the order the module docstring gives.

    :raises CatalogueError, SettingsError: for a file found that cannot be read (naming it).
    """
    if not configured.strip():
        return SetupFile(what, setting, None, Found.OFF)
    path = Path(configured).expanduser()
    if path.is_absolute() and path.is_file():  # named outright: the operator's choice, the same from anywhere
        return SetupFile(what, setting, path, Found.CONFIGURED, _count(what, path))
    name = path.name
    for root in map(Path, roots):
        folder = root if root.is_dir() else root.parent
        if (candidate := folder / name).is_file():
            return SetupFile(what, setting, candidate.resolve(), Found.BESIDE, _count(what, candidate))
    if path.is_file():
        return SetupFile(what, setting, path.resolve(), Found.CONFIGURED, _count(what, path))
    if live_entries is not None and (entries := live_entries()) is not None:
        return SetupFile(what, setting, None, Found.LIVE, entries)
    if (shipped := shipped_file(f"{setting}.yaml")).is_file():
        return SetupFile(what, setting, shipped, Found.SHIPPED, _count(what, shipped))
    return SetupFile(what, setting, None, Found.MISSING)


def find_setup(settings: Settings, roots: Sequence[str | Path]) -> Setup:
    """The catalogue and canaries a run over ``roots`` uses; each one missing is logged as a warning."""
    setup = Setup(find_file("projects catalogue", "projects", settings.projects, roots,
                            lambda: _live_catalogue_entries(settings)),
                  find_file("canaries", "canaries", settings.canaries, roots))
    for warning in setup.warnings():
        logger.warning("%s", warning)
    return setup
