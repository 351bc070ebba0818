"""Tags for browsing and filters: English local authorities (with groupings) and practice themes.

* Local authorities come from ``ingest/data/local_authorities.csv`` (all 153 with children's
  services responsibilities, plus former ones such as Cumbria for older documents) and
  ``local_authority_groups.csv`` ("Tri-borough", "Richmond and Kingston", ...). Names are matched
  case-sensitively as whole words; names that are also ordinary words or surnames ("Reading",
  "Bury", "Sutton", "Kent") only count beside a place cue ("in Reading", "Reading Borough Council").
* Themes come from ``index/data/themes.json``. A passage carries a theme by a keyword (outside the
  theme's excluded phrases) or by its embedding being close to the theme's description; a source
  carries it when a paragraph is about it (:func:`source_tags`). Every tag keeps its reason, and a
  source's tag the paragraph that shows it, so it can be explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from haystack import Document, component

from index.browse.taxonomy import themes
from index.records import GROUP_EVIDENCE, CouncilMention, SourceTags, ThemeTag
from ingest.councils import authorities, groups

_PLACE_BEFORE = r"(?:\b(?:in|at|across|from|for|with|by|of|and|between|to)\s+)"
_PLACE_AFTER = (r"(?=\s+(?:Borough|City|County|Metropolitan|Council|council|local authority|children[’']s services)"
                r"|[’']s\s+(?:children|council|social|family))")


def _variants(alias: str) -> set[str]:
    forms = {alias, alias.replace(" and ", " & "), alias.replace(" & ", " and "), alias.replace(",", "")}
    return {f for f in forms if f}


_Groups = dict[str, tuple[str, tuple[str, ...]]]


@cache
def _matchers() -> tuple[list[re.Pattern[str]], dict[str, str], re.Pattern[str], _Groups]:
    plain: dict[str, str] = {}
    ambiguous: dict[str, str] = {}
    for authority in authorities():
        for alias in (authority.name, *authority.aliases):
            for form in _variants(alias):
                target = ambiguous if authority.ambiguous and len(form.split()) == 1 else plain
                target[form] = authority.name

    def alternation(forms: dict[str, str]) -> str:
        return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))

    # Places that contain a council's name but are not it ("New York", "Newcastle-under-Lyme").
    guard = r"(?<!New )(?<!Newcastle-under-)"
    after_guard = r"(?!-under-Lyme)"
    patterns = [re.compile(rf"{guard}\b({alternation(plain)})\b{after_guard}")]
    if ambiguous:
        forms = alternation(ambiguous)
        patterns.append(re.compile(rf"{_PLACE_BEFORE}({forms})\b{after_guard}"))
        patterns.append(re.compile(rf"{guard}\b({forms}){_PLACE_AFTER}"))
    group_names: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, aliases, members in groups():
        for alias in (name, *aliases):
            for form in _variants(alias):
                group_names[form.lower()] = (name, members)
    group_pattern = re.compile(r"\b(" + "|".join(re.escape(g) for g in sorted(group_names, key=len, reverse=True))
                               + r")\b", re.IGNORECASE)
    return patterns, {**plain, **ambiguous}, group_pattern, group_names


def local_authorities_in(text: str) -> dict[str, Any]:
    """``{"councils": [...], "council_groups": [...], "evidence": {council: phrase}}`` for a text."""
    patterns, names, group_pattern, group_names = _matchers()
    councils: dict[str, str] = {}
    found_groups: list[str] = []
    for match in group_pattern.finditer(text):
        group, members = group_names[match.group(1).lower()]
        if group not in found_groups:
            found_groups.append(group)
        for member in members:
            councils.setdefault(member, f"{match.group(1)}{GROUP_EVIDENCE}")
    for pattern in patterns:
        for match in pattern.finditer(text):
            phrase = match.group(1)
            # A council the text names outright is named, even where a group it belongs to came first.
            if phrase in names and councils.get(names[phrase], GROUP_EVIDENCE).endswith(GROUP_EVIDENCE):
                councils[names[phrase]] = phrase
    return {"councils": sorted(councils), "council_groups": found_groups, "evidence": councils}


def _keyword_pattern(keyword: str) -> str:
    """A keyword as a regex: whole words; a trailing ``*`` marks a stem ("recruit*" finds "recruitment");
    an acronym in capitals matches only in capitals ("SEND", not "send")."""
    stem = keyword.endswith("*")
    word = keyword.rstrip("*")
    escaped = re.escape(word)
    if word[-1].isalnum():
        escaped = rf"\b{escaped}\w*" if stem else rf"\b{escaped}\b"
    if len(word) > 1 and word.isupper():
        escaped = f"(?-i:{escaped})"
    return escaped


@cache
def _keyword_patterns() -> dict[str, re.Pattern[str]]:
    return {theme.id: re.compile("|".join(_keyword_pattern(k) for k in theme.keywords), re.IGNORECASE)
            for theme in themes()}


@cache
def _exclude_patterns() -> dict[str, re.Pattern[str]]:
    return {theme.id: re.compile("|".join(re.escape(x) for x in theme.exclude), re.IGNORECASE)
            for theme in themes() if theme.exclude}


def theme_keywords_in(text: str) -> dict[str, list[str]]:
    """Theme id → the keywords of that theme found in ``text``."""
    found = {}
    excludes = _exclude_patterns()
    for theme_id, pattern in _keyword_patterns().items():
        exclude = excludes.get(theme_id)
        hits = sorted({m.group(0).lower() for m in pattern.finditer(exclude.sub(" ", text) if exclude else text)})
        if hits:
            found[theme_id] = hits
    return found


@component
class PassageTagger:
    """Tag each embedded passage with councils and themes, keeping the reasons (a Haystack component).

    :param model: the embedding model directory; theme descriptions are embedded with it on warm-up
        (empty: keyword rules only).
    :param similarity_threshold: cosine similarity above which a theme applies without a keyword.
    """

    def __init__(self, model: str = "", similarity_threshold: float = 0.45) -> None:
        self.model = model
        self.similarity_threshold = similarity_threshold
        self.theme_vectors: dict[str, list[float]] = {}
        self._embedder: Any = None

    def use_embedder(self, embedder: Any) -> None:
        """Embed the theme descriptions with the pipeline's own passage embedder (a component whose ``run``
        takes and returns ``documents``), instead of loading a second model on warm-up: the themes are then
        compared with passages in the very space they were embedded in, and an ONNX ingest never loads torch."""
        self._embedder = embedder

    def warm_up(self) -> None:
        if self.theme_vectors or not self.model:
            return
        descriptions = [Document(content=t.description) for t in themes()]
        if self._embedder is not None:
            self._embedder.warm_up()
            docs = self._embedder.run(documents=descriptions)["documents"]
            self.theme_vectors = {t.id: list(d.embedding or []) for t, d in zip(themes(), docs, strict=True)}
            return
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
        )

        embedder = SentenceTransformersDocumentEmbedder(model=self.model, normalize_embeddings=True,
                                                        progress_bar=False, local_files_only=True)
        embedder.warm_up()
        docs = embedder.run(documents=[Document(content=t.description) for t in themes()])["documents"]
        self.theme_vectors = {t.id: d.embedding or [] for t, d in zip(themes(), docs, strict=True)}

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        self.warm_up()
        ids = list(self.theme_vectors)
        matrix = np.asarray([self.theme_vectors[i] for i in ids], dtype=np.float32) if ids else None
        out = []
        for doc in documents:
            text = doc.content or ""
            places = local_authorities_in(text)
            reasons: dict[str, str] = {}
            for theme_id, words in theme_keywords_in(text).items():
                reasons[theme_id] = "keywords: " + ", ".join(words[:5])
            if matrix is not None and doc.embedding is not None:
                scores = matrix @ np.asarray(doc.embedding, dtype=np.float32)
                for theme_id, score in zip(ids, scores, strict=True):
                    if score >= self.similarity_threshold and theme_id not in reasons:
                        reasons[theme_id] = f"similar to the theme's description ({score:.2f})"
            meta = {**doc.meta, "councils": places["councils"], "council_groups": places["council_groups"],
                    "council_evidence": places["evidence"], "themes": sorted(reasons), "theme_reasons": reasons}
            out.append(Document(id=doc.id, content=doc.content, meta=meta, embedding=doc.embedding))
        return {"documents": out}


# A source carries a theme when a paragraph of it is *about* the theme: the theme's keywords (outside
# its excluded phrases) in the paragraph's first sentence, among its first TOPIC_WORDS words, in a
# paragraph of at least MIN_PARAGRAPH_WORDS words. That is how reports are written: "Disabled children
# receive…", "Private fostering arrangements are…", "The response to domestic abuse…" open the
# paragraph about them, while a theme named in passing sits later in a sentence about something else.
# What does not count as a paragraph opening with its subject:
# - a keyword just after "including", "such as", "for example" (a member of a list), or later in the
#   clause that "particularly", "especially" or "in particular" opens (a subset of the subject: "the
#   number of children on repeat plans, particularly those experiencing neglect");
# - a block of short lines (a title page, a table of judgements or codes): not a paragraph at all;
# - a paragraph that begins in lower case: it is the tail of the one before, cut by a page break, and
#   joins it (its first words are the end of someone else's sentence).
# A list-like document (less than MIN_PROSE_SHARE of its words in lines of running prose: data guides,
# indicator lists, frameworks of bullet points, web pages of menus) needs MIN_PARAGRAPHS_LIST_LIKE such
# paragraphs, because its code lists and bullets open a line with every topic once; there, consecutive
# list items (bullets, codes such as "11A", "(b)") naming the theme count as one. A report in prose needs
# one paragraph however long it is (the old inspection reports run to 15,000 words and give a topic one
# paragraph, as the new ones do).
# Tuned on the tuning half of eval/theme-tags/recall-judged.tsv (benchmarks/bench_theme_recall.py);
# the figures, held out too, are in docs/corpus.md ("Themes"). The earlier rule (keywords 8 times and
# once per 1,000 words) had precision 0.95 but recall 0.37 there. Similarity to a theme's description
# tags passages, never sources: as a filter on these paragraphs it moved precision by 0.01 at most.
TOPIC_WORDS = 16
MIN_PARAGRAPH_WORDS = 8
PROSE_LINE_WORDS = 12
MIN_PROSE_SHARE = 0.8
MIN_PARAGRAPHS_LIST_LIKE = 3
EVIDENCE_CHARS = 220

_PARAGRAPH = re.compile(r"\S.*?(?=\n[^\S\n]*\n|\Z)", re.DOTALL)
_LIST_CUE = re.compile(r"(?:(?:\bincluding|\bsuch as|\bfor example|\be\.g\.)\s+(?:\S+\s+){0,2}"
                       r"|(?:\bparticularly|\bespecially|\bin particular)\s+[^,;:()]*)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z‘'\"(◼•])")
# A list item opens with a bullet of any kind (•, ◼, –, *, the private-use glyphs PDFs leave), an item
# letter ("(b)", "b)") or a code ("11A", "N1", "UN6"), then a space.
_LIST_ITEM = re.compile(r"(?:[^\w\s\"'“‘(\[#]|[A-Z]{1,3}\d{1,3}[A-Z]?|\d{1,3}[A-Z]|\(?[a-z]\))\s")


@dataclass(frozen=True)
class TopicParagraph:
    """A paragraph about a theme: where it starts in the text, its opening words (the evidence), its
    place among the text's paragraphs and whether it is a list item (a bullet or a code)."""

    start: int
    excerpt: str
    index: int = 0
    list_item: bool = False


def _excerpt(sentence: str) -> str:
    flat = " ".join(sentence.split())
    if len(flat) <= EVIDENCE_CHARS:
        return flat
    return flat[:EVIDENCE_CHARS].rsplit(" ", 1)[0] + "…"


def paragraphs_of(text: str) -> list[tuple[int, str]]:
    """``(start, text)`` of each paragraph (apart by a blank line); one that begins in lower case continues
    the one before, cut by a page or column break, and is joined to it."""
    found: list[tuple[int, str]] = []
    for match in _PARAGRAPH.finditer(text):
        body = match.group(0)
        if found and body[0].islower():
            start = found[-1][0]
            found[-1] = (start, text[start:match.end()])
        else:
            found.append((match.start(), body))
    return found


def _is_table(body: str) -> bool:
    """A block of three or more short lines (a title page, a table of judgements, codes or acronyms)."""
    lines = [line for line in body.splitlines() if line.strip()]
    return len(lines) >= 3 and sum(len(line.split()) for line in lines) < MIN_PARAGRAPH_WORDS * len(lines)


def prose_share(text: str) -> float:
    """The share of ``text``'s words in lines of running prose: lines of ``PROSE_LINE_WORDS`` words or more
    that are not list items. Reports are mostly prose; data guides, indicator lists and bullet-point
    frameworks are not."""
    prose = total = 0
    for line in text.splitlines():
        words = len(line.split())
        total += words
        if words >= PROSE_LINE_WORDS and not _LIST_ITEM.match(line.strip()):
            prose += words
    return prose / total if total else 0.0


def topic_paragraphs(text: str) -> dict[str, list[TopicParagraph]]:
    """Theme id → the paragraphs of ``text`` that are about the theme, in order (see ``TOPIC_WORDS``)."""
    patterns = _keyword_patterns()
    excludes = _exclude_patterns()
    found: dict[str, list[TopicParagraph]] = {}
    for index, (start, body) in enumerate(paragraphs_of(text)):
        if len(body.split()) < MIN_PARAGRAPH_WORDS or _is_table(body):
            continue
        first = _SENTENCE_END.split(body, 1)[0]
        list_item = bool(_LIST_ITEM.match(body))
        for theme_id, pattern in patterns.items():
            exclude = excludes.get(theme_id)
            # Blank the excluded phrases (same length, so word positions hold) before looking.
            sentence = exclude.sub(lambda m: " " * len(m.group(0)), first) if exclude else first
            for hit in pattern.finditer(sentence):
                before = sentence[:hit.start()]
                if len(before.split()) > TOPIC_WORDS:
                    break
                # "Assessments, including those for disabled children, are…": a member of a list, not the subject.
                if not _LIST_CUE.search(before):
                    found.setdefault(theme_id, []).append(TopicParagraph(start, _excerpt(first), index, list_item))
                    break
    return found


def _count(paragraphs: list[TopicParagraph]) -> int:
    """Paragraphs about a theme, consecutive list items counting as one (a code list names a topic on
    several of its lines: "11A Child sexual exploitation", "12A Trafficking", "13A Gangs")."""
    count = 0
    for i, paragraph in enumerate(paragraphs):
        before = paragraphs[i - 1] if i else None
        if not (before and paragraph.list_item and before.list_item and paragraph.index == before.index + 1):
            count += 1
    return count


def _passage_at(passages: list[dict[str, Any]], offset: int) -> int | None:
    """The ordinal of the passage whose text holds ``offset`` (passages carry ``start``/``end``)."""
    for i, meta in enumerate(passages):
        if int(meta.get("start", -1)) <= offset < int(meta.get("end", -1)):
            return int(meta.get("ordinal", i))
    return None


def source_tags(passages: list[dict[str, Any]], text: str) -> SourceTags:
    """A source's tags from its text and its passages' meta (the tags :class:`PassageTagger` put there).

    Every council named counts. A theme counts when a paragraph is about it (:func:`topic_paragraphs`;
    ``MIN_PARAGRAPHS_LIST_LIKE`` paragraphs in a list-like source, see :func:`prose_share`, with consecutive
    list items counting as one); the tag keeps the first such paragraph's opening and the passage that
    holds it, to show as the reason.
    """
    councils: dict[str, str] = {}
    groups_found: list[str] = []
    for meta in passages:
        for council in meta.get("councils", []):
            evidence = meta.get("council_evidence", {}).get(council, "")
            # One passage naming the council outright outweighs others reaching it only through a group.
            if council not in councils or (councils[council].endswith(GROUP_EVIDENCE)
                                           and not evidence.endswith(GROUP_EVIDENCE)):
                councils[council] = evidence
        for group in meta.get("council_groups", []):
            if group not in groups_found:
                groups_found.append(group)
    needed = MIN_PARAGRAPHS_LIST_LIKE if prose_share(text) < MIN_PROSE_SHARE else 1
    tags = []
    for theme_id, found in sorted(topic_paragraphs(text).items()):
        count = _count(found)
        if count >= needed:
            reason = f"{count} paragraph{'s' if count > 1 else ''} about it"
            tags.append(ThemeTag(theme_id, reason, found[0].excerpt, _passage_at(passages, found[0].start)))
    return SourceTags(councils=tuple(CouncilMention(name, councils[name]) for name in sorted(councils)),
                      council_groups=tuple(groups_found),
                      themes=tuple(tags))
