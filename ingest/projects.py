"""The projects catalogue (``corpus/projects.yaml``): innovation projects and practice models, checked
on load, and linked to the sources and passages that name them.

Adding a project is one entry in the YAML file; the next ``kb ingest`` or ``kb reindex`` links
it (a changed catalogue alone is enough for a re-index to publish). Errors name the entry and the
field::

    corpus/projects.yaml: entry 3 (Signs of Safety): 'themes' has 'safety', which is not a theme;
    use one of adolescents-edge-of-care, ...

Usage::

    catalogue = load_catalogue(Path("corpus/projects.yaml"))
    linker = ProjectLinker(catalogue)
    mentions = project_mentions(linker, passages)   # (ProjectMention(slug, name, ordinal, excerpt, relation), ...)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from haystack import Document

from index.browse.taxonomy import theme_labels
from index.errors import KBError
from index.records import Project, ProjectMention
from index.search.facets import slugify

FIELDS = {"name", "slug", "aliases", "weak_aliases", "context", "councils", "partners", "themes", "years",
          "description", "links", "based_on", "version_of"}
MAX_DESCRIPTION = 800
logger = logging.getLogger(__name__)
EXCERPT_CHARS = 110


class CatalogueError(KBError):
    """The projects catalogue cannot be read or an entry is wrong."""




def _pattern(phrase: str) -> str:
    """A phrase as a regex tolerant of case, punctuation and possessives: "Evolve YP's Social Work
    Practice" also matches "Evolve’s YP’s social-work practice"; "Tri-Borough" matches "Triborough"."""
    tokens = [t for t in re.findall(r"[^\W_]+", phrase.lower()) if t != "s"]
    return r"\b" + r"[\W_]*".join(re.escape(t) + r"(?:['’]s)?" for t in tokens) + r"\b"


@dataclass(frozen=True)
class Catalogue:
    projects: tuple[Project, ...]
    digest: str

    def by_slug(self) -> dict[str, Project]:
        return {p.slug: p for p in self.projects}

    def to_json(self) -> str:
        return json.dumps({"digest": self.digest, "projects": [p.to_dict() for p in self.projects]},
                          ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        data = json.loads(text)
        projects = tuple(Project(**{k: tuple(v) if isinstance(v, list) else v  # type: ignore[arg-type]
                                    for k, v in p.items()}) for p in data["projects"])
        return cls(projects, data.get("digest", ""))


def current_catalogue(path: str | Path | None, live_projects_json: str | None) -> Catalogue:
    """The catalogue a new generation gets: the file if it exists; if the setting names a file
    that is missing (a run from another directory, a deployment without the corpus folder), the
    live generation's catalogue, so that a nightly run never drops the projects by accident. An
    empty setting means no catalogue.

    :raises CatalogueError: for a file that is there but wrong.
    """
    if path and not Path(path).exists() and live_projects_json is not None:
        logger.warning("projects catalogue %s not found; keeping the live index's catalogue", path)
        return Catalogue.from_json(live_projects_json)
    return load_catalogue(path)


def load_catalogue(path: str | Path | None) -> Catalogue:
    """Read and check the catalogue; an empty path or a missing file gives an empty catalogue.

    :raises CatalogueError: naming the file, the entry and the field that is wrong.
    """
    if not path or not Path(path).exists():
        return Catalogue((), "")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path} cannot be read as YAML ({exc}). Fix the file.") from None
    entries = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CatalogueError(f"{path} must hold 'projects:' followed by a list of entries.")
    projects = [_project(path, number, entry) for number, entry in enumerate(entries, start=1)]
    seen: dict[str, int] = {}
    for number, project in enumerate(projects, start=1):
        if project.slug in seen:
            raise CatalogueError(f"{path}: entry {number} ({project.name}): slug {project.slug!r} is also entry "
                                 f"{seen[project.slug]}'s; give one of them a different 'slug'.")
        seen[project.slug] = number
    names = {p.name.lower(): p.slug for p in projects}
    for number, project in enumerate(projects, start=1):
        for key in ("based_on", "version_of"):
            named = getattr(project, key)
            slugs = tuple(names.get(n.lower(), n) for n in named)
            for given, slug in zip(named, slugs, strict=True):
                if slug not in seen or slug == project.slug:
                    raise CatalogueError(f"{path}: entry {number} ({project.name}): '{key}' has {given!r}, which is "
                                         "not another project of this catalogue; give its slug or name.")
            projects[number - 1] = (replace(projects[number - 1], based_on=slugs) if key == "based_on"
                                    else replace(projects[number - 1], version_of=slugs))
    return Catalogue(tuple(projects), hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])


def _project(path: Path, number: int, entry: Any) -> Project:
    label = f"{path}: entry {number}"
    if not isinstance(entry, dict):
        raise CatalogueError(f"{label} must be a mapping with at least 'name' and 'description'.")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CatalogueError(f"{label}: 'name' is missing or empty; every project needs a name.")
    label = f"{label} ({name})"
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise CatalogueError(f"{label}: unknown field {unknown[0]!r}; the fields are {', '.join(sorted(FIELDS))}.")

    def strings(key: str) -> tuple[str, ...]:
        value = entry.get(key) or []
        if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                                                 for v in value):
            raise CatalogueError(f"{label}: '{key}' must be a list of non-empty texts.")
        return tuple(v.strip() for v in value)

    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise CatalogueError(f"{label}: 'description' is missing; write a short factual description.")
    if len(description) > MAX_DESCRIPTION:
        raise CatalogueError(f"{label}: 'description' has {len(description)} characters; keep it under "
                             f"{MAX_DESCRIPTION}.")
    slug = entry.get("slug") or slugify(name)
    if not isinstance(slug, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise CatalogueError(f"{label}: 'slug' {slug!r} must be lower-case letters, digits and hyphens.")
    councils = tuple(_council(label, c) for c in strings("councils"))
    themes = strings("themes")
    known = theme_labels()
    for theme in themes:
        if theme not in known:
            raise CatalogueError(f"{label}: 'themes' has {theme!r}, which is not a theme; use one of "
                                 f"{', '.join(known)}.")
    years = entry.get("years") or []
    if not isinstance(years, list) or len(years) > 2 or not all(isinstance(y, int) and 1950 <= y <= 2100
                                                                 for y in years) or years != sorted(years):
        raise CatalogueError(f"{label}: 'years' must be [start] or [start, end], years such as 2014.")
    links = entry.get("links") or []
    if not isinstance(links, list) or not all(isinstance(link, dict) and isinstance(link.get("url"), str)
                                              and link["url"].startswith(("http://", "https://"))
                                              and isinstance(link.get("title"), str) for link in links):
        raise CatalogueError(f"{label}: 'links' must be a list of {{title, url}} with http(s) URLs.")
    aliases = tuple(dict.fromkeys((name.strip(), *strings("aliases"))))
    weak = strings("weak_aliases")
    context = strings("context")
    if weak and not context:
        raise CatalogueError(f"{label}: 'weak_aliases' need 'context' words (a weak alias links only in a "
                             "passage that also holds one of them).")
    return Project(slug=slug, name=name.strip(), description=" ".join(description.split()), aliases=aliases,
                   weak_aliases=weak, context=context, councils=councils, partners=strings("partners"),
                   themes=themes, years=tuple(years),
                   links=tuple({"title": link["title"], "url": link["url"]} for link in links),
                   based_on=strings("based_on"), version_of=strings("version_of"))


def _council(label: str, name: str) -> str:
    from ingest.councils import authorities

    for authority in authorities():
        if name == authority.name or name in authority.aliases:
            return authority.name
    raise CatalogueError(f"{label}: 'councils' has {name!r}, which is not an English local authority with "
                         "children's services; use its name as in ingest/data/local_authorities.csv "
                         "(for example 'Richmond upon Thames').")


class ProjectLinker:
    """Finds the projects a passage names."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._strong: list[tuple[Project, re.Pattern[str]]] = []
        self._weak: list[tuple[Project, re.Pattern[str], re.Pattern[str]]] = []
        for project in catalogue.projects:
            self._strong.append((project, re.compile("|".join(_pattern(a) for a in project.aliases), re.I)))
            if project.weak_aliases:
                self._weak.append((project,
                                   re.compile("|".join(_pattern(a) for a in project.weak_aliases), re.I),
                                   re.compile("|".join(_pattern(c) for c in project.context), re.I)))

    def find(self, text: str) -> dict[str, tuple[Project, int, int]]:
        """``{slug: (project, start, end)}`` of the first mention of each project in ``text``."""
        found: dict[str, tuple[Project, int, int]] = {}
        for project, pattern in self._strong:
            match = pattern.search(text)
            if match:
                found[project.slug] = (project, match.start(), match.end())
        for project, pattern, context in self._weak:
            if project.slug in found or not context.search(text):
                continue
            match = pattern.search(text)
            if match:
                found[project.slug] = (project, match.start(), match.end())
        return found

    def find_all(self, text: str) -> list[tuple[Project, int, int, bool]]:
        """Every mention in ``text``, in order: ``(project, start, end, weak)``; a weak alias only where
        the text also holds a context word (and ``weak`` is then true)."""
        found = [(project, m.start(), m.end(), False)
                 for project, pattern in self._strong for m in pattern.finditer(text)]
        strong = {project.slug for project, _, _, _ in found}
        for project, pattern, context in self._weak:
            if project.slug not in strong and context.search(text):
                found.extend((project, m.start(), m.end(), True) for m in pattern.finditer(text))
        return sorted(found, key=lambda item: item[1])


def _excerpt(text: str, start: int, end: int) -> str:
    left = max(0, start - EXCERPT_CHARS)
    right = min(len(text), end + EXCERPT_CHARS)
    # Whole words only: move the cuts out to the nearest spaces.
    if left:
        left = max(0, text.rfind(" ", 0, left) + 1)
    if right < len(text):
        found = text.find(" ", right)
        right = len(text) if found == -1 else found
    snippet = " ".join(text[left:right].split())
    return ("… " if left else "") + snippet + (" …" if right < len(text) else "")


USES = "uses"
MENTIONS = "mentions"

# "Uses X" versus "X is mentioned", read from the sentence around the name. Checked in this order;
# the first rule that fires gives the relation and its reason. Only an inspection is about one
# council's own practice, so only an inspection's sentence can say "uses".
_STOPPED = re.compile(r"\b(?:no longer|previously used|moved away from|(?:has|have|was|were) replaced|ceased|"
                      r"discontinued|decommissioned|withdrawn|disaggregat\w+|dissolved)\b", re.I)
_PLANNED = re.compile(
    r"\b(?:plans? to|plans (?:are |have been )?(?:in place|agreed|made) to|planning to|planned|intends? to|"
    r"intention (?:is )?to|(?:is|are) due to|"
    r"will (?:be )?(?:introduc|implement|launch|adopt|roll|start|begin|join|develop|establish|go live|involve|"
    r"deliver)\w*|"
    r"(?:yet|not yet) (?:to )?(?:be(?:en)? )?(?:introduc|implement|launch|start|begin|establish|roll|develop|"
    r"commence)\w*|"
    r"(?:is|are) considering|exploring|proposed|proposals?|preparing to|about to|(?:has|have) applied to|"
    r"bid to|secur\w* (?:funding|a grant) to|in the process of|next (?:step|stage|phase)|"
    r"awaiting|not (?:yet )?in place)", re.I)
# Inspections name national programmes the council takes part in ("the DfE's Partners in Practice
# programme"), so "national" or "DfE" alone is no sign of a mere mention; comparisons are ("similar to").
_NATIONAL = re.compile(
    r"\b(?:nationally|other areas|many local authorities|some local authorities|similar to|"
    r"local authorities (?:that|which|who)|across (?:england|the country))\b", re.I)
_NEGATED = re.compile(r"\b(?:no|not|lack of|absence of|without|nor|neither|none)\W+(?:\w+\W+){0,2}$", re.I)
_USED = re.compile(
    r"\b(?:uses?|using|used|utilis\w+|implement(?:ed|ing|ation)|adopt(?:ed|ing)|embed(?:ded|ding)?|"
    r"introduc(?:ed|ing|tion)|work(?:s|ed|ing)? (?:\w+ )?with|joined|based on|underpinned by|grounded in|"
    r"deliver(?:s|ed|ing)?|"
    r"offer(?:s|ed)?|provid(?:es|ed|ing)|provision|train(?:ed|ing)|rolled out|roll-out|established|in place|"
    r"launched|invest(?:ed|ment)|commission(?:s|ed)|member of|part of|benefit(?:s|ed|ing)? from|supported by|"
    r"access(?:ed)? to|referr(?:ed|al)s?|(?:practice|chosen) (?:model|framework|approach)|approach|model|"
    r"service|teams?|programmes?|projects?|pilot|hubs?|tool|app|groups?|well[- ]established|through|"
    r"recruit\w*|conven(?:e|es|ed|ing)|arrangements?|placements?|commitment to|delegated to|lead|via|extended|"
    r"available|relationships? (?:between|with))\b", re.I)
_SENTENCE_BREAK = re.compile(r"(?:[.!?;:](?=\s)|[•◼▪●])\s*|\s\d{1,3}\.\s(?=[A-Z])")


@dataclass(frozen=True)
class Relation:
    """How a passage relates a project to the source's council, and the rule that said so."""

    relation: str  # USES or MENTIONS
    reason: str


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence (or bullet) of ``text`` that holds ``text[start:end]``."""
    left = 0
    for match in _SENTENCE_BREAK.finditer(text, 0, start):
        left = match.end()
    after = _SENTENCE_BREAK.search(text, end)
    right = after.start() + 1 if after else len(text)
    return " ".join(text[left:right].split())


def classify(text: str, start: int, end: int, inspection: bool) -> Relation:
    """``uses`` where an inspection's sentence says the council uses (has implemented, adopted, is
    embedding, works with…) the project named at ``text[start:end]``; ``mentions`` otherwise."""
    if not inspection:
        return Relation(MENTIONS, "not an inspection: the text is not about one council's own practice")
    sentence = sentence_at(text, start, end)
    for pattern, why in ((_STOPPED, "stopped or replaced"), (_PLANNED, "planned, not yet in use"),
                         (_NATIONAL, "national context or a comparison")):
        cue = pattern.search(sentence)
        if cue:
            return Relation(MENTIONS, f"{why}: {cue.group(0)!r}")
    name_at = sentence.lower().find(text[start:end].lower())
    negation = _NEGATED.search(sentence[:name_at]) if name_at > 0 else None
    if negation:
        return Relation(MENTIONS, f"negated: {negation.group(0).strip()!r}")
    # The cue nearest the name is the one that most likely speaks of it.
    cues = sorted(_USED.finditer(sentence), key=lambda cue: abs(cue.start() - max(name_at, 0)))
    if cues:
        return Relation(USES, f"the inspected council: {cues[0].group(0)!r}")
    return Relation(MENTIONS, "no sign that the council uses it")


def project_mentions(linker: ProjectLinker, passages: Iterable[Document]) -> tuple[ProjectMention, ...]:
    """The projects a source's passages name, each with the first passage saying the council uses it
    (else the first passage naming it) and the words around the name.

    A passage of an inspection (``meta["type"] == "inspection"``) can say "uses"; see :func:`classify`.
    """
    found: dict[str, ProjectMention] = {}
    for passage in passages:
        text = passage.content or ""
        inspection = passage.meta.get("type") == "inspection"
        for project, start, end, weak in linker.find_all(text):
            known = found.get(project.slug)
            if known is not None and known.relation == USES:
                continue
            # A weak alias (a council's name, a common phrase) shows the project is meant, not that it is used.
            relation = MENTIONS if weak else classify(text, start, end, inspection).relation
            if known is None or relation == USES:
                found[project.slug] = ProjectMention(project.slug, project.name, int(passage.meta.get("ordinal", 0)),
                                                     _excerpt(text, start, end), relation)
    return tuple(found.values())
