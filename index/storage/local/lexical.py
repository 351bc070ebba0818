"""The lexical index of a generation: BM25 over passages in tantivy, which prunes instead of scoring every match.

FTS5's ``ORDER BY rank LIMIT k`` computes bm25 for every passage that matches before keeping
``k``; a query of common words matches most of a children's-social-care corpus, so at a million
passages it scores hundreds of thousands of rows per query (docs/benchmarks.md, "Lexical search
at scale"). tantivy keeps the same model (BM25, Porter-family stemming, accents folded) with
block-max WAND over memory-mapped, immutable segments.

Usage::

    LexicalIndex.build(gen / LEXICAL_DIR, rows)                 # at build time, before the gate
    LexicalIndex.derive(live / LEXICAL_DIR, new / LEXICAL_DIR, changed_source_ids, new_rows)
    index = LexicalIndex.open(gen / LEXICAL_DIR)                 # serving: read-only, shared by threads
    index.search(parse_query("edge of care").strict_plan(), top_k=100)   # [(rowid, score), ...]

Only the word tokens of :mod:`index.search.query` reach the engine, as term queries built here; no user
text is parsed as query syntax. A phrase is searched as its adjacent pairs of words (indexed as
terms of their own), which a passage holding the phrase always holds; for three words or more a
passage may hold the pairs apart, so candidates that must hold a phrase (a quoted one) are checked
word for word with :meth:`LexicalIndex.matching`, which uses the positions.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Collection, Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import tantivy

from index.errors import IndexNotFoundError
from index.search.query import MatchPlan, Term
from index.storage.analysis import (
    BYLINE_SCALE,
    DEFAULT_TITLE_WEIGHT,
    TITLE_IN_TEXT,
    TITLE_SCALE,
    AnalysedTerms,
    analyzer,
    token_pairs,
)
from index.storage.contract import LexicalRow

# The analyzer, like FTS5's ``porter unicode61 remove_diacritics 2``: runs of letters and digits,
# lower-cased, accents folded, English (Snowball) stems. Registered under this name at every
# open, since tantivy stores the name in the schema but not the analyzer.
TOKENIZER = "kb_en"
# Adjacent token pairs ("looked_after", "after_children"), pre-joined at build time: a phrase of
# common words matched as rare pair terms, since a phrase query checks the positions of every
# passage holding all its words and cannot be pruned.
PAIR_TOKENIZER = "kb_pairs"
_PAIR_FIELDS = {"content": "content_pairs", "title": "title_pairs"}
# The source's publisher and authors, matched by the relaxed plan only (analysis.BYLINE_SCALE).
# Indexes written before this field existed lack it, and are searched as before.
BYLINE = "byline"
_BYLINE_PAIRS = "byline_pairs"
# Indexing memory (shared by the writer's threads): tantivy's own default for a large batch.
_WRITER_HEAP = 256_000_000
# What this module writes, beside tantivy's own files: an index of another layout (an older
# version of this module) is refused at open, and the store searches with FTS5 instead.
FORMAT_FILE = "kb-lexical.json"
# 2: the title is also the first words of every passage's text (TITLE_IN_TEXT); 1 held it only in its field.
FORMAT = 2


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rowid", indexed=True, fast=True)
    builder.add_text_field("source_id", tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_text_field("title", tokenizer_name=TOKENIZER, index_option="position")
    builder.add_text_field("content", tokenizer_name=TOKENIZER, index_option="position")
    builder.add_text_field(BYLINE, tokenizer_name=TOKENIZER, index_option="position")
    for field in (*_PAIR_FIELDS.values(), _BYLINE_PAIRS):
        builder.add_text_field(field, tokenizer_name=PAIR_TOKENIZER, index_option="freq")
    return builder.build()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer(TOKENIZER, analyzer())
    index.register_tokenizer(PAIR_TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())


def _pairs(tokens: list[str]) -> str:
    return " ".join(token_pairs(tokens))


class LexicalIndex(AnalysedTerms):
    """A read-only tantivy index of one generation's passages (open with :meth:`open`).

    One searcher is made at open and shared: a generation's segments never change.
    """

    def __init__(self, index: tantivy.Index, path: Path) -> None:
        self.path = path
        self._index = index
        self._schema = index.schema
        AnalysedTerms.__init__(self)
        self._searcher = index.searcher()
        self.has_byline = _has_field(self._searcher, BYLINE)

    # -- writing -----------------------------------------------------------------------------

    @staticmethod
    def build(path: str | Path, rows: Iterable[LexicalRow]) -> int:
        """Write a new index of ``rows`` into the directory ``path``, which must not exist yet.

        :returns: how many passages it holds.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=False)
        index = tantivy.Index(_schema(), path=str(path), reuse=False)
        _register(index)
        count = _write(index, (), rows)
        with open(path / FORMAT_FILE, "w", encoding="utf-8") as handle:  # durable like tantivy's own files
            handle.write(json.dumps({"format": FORMAT}))
            handle.flush()
            os.fsync(handle.fileno())
        return count

    @staticmethod
    def derive(base_path: str | Path, path: str | Path, removed_source_ids: Iterable[str],
               rows: Iterable[LexicalRow]) -> int:
        """A new index at ``path``: the base's passages less ``removed_source_ids``'s, plus ``rows``.

        The base's segment files are hard-linked, not copied (segments are immutable; tantivy
        records deletions in new files and rewrites its small JSON files by renaming), so the
        cost follows the change, and the base is left as it was. Sources whose passages changed
        must be both removed and given again in ``rows``.

        :returns: how many passages the new index holds.
        """
        base, path = Path(base_path), Path(path)
        if not (base / "meta.json").is_file():
            raise IndexNotFoundError(f"There is no lexical index in {base} to derive from.")
        _check_format(base)
        path.mkdir(parents=True, exist_ok=False)
        for entry in base.iterdir():
            if not entry.is_file() or entry.name.endswith(".lock"):
                continue
            if entry.suffix == ".json":
                shutil.copy2(entry, path / entry.name)
                continue
            try:
                os.link(entry, path / entry.name)
            except OSError:  # another file system: a copy costs more but is as correct
                shutil.copy2(entry, path / entry.name)
        index = tantivy.Index.open(str(path))
        _register(index)
        return _write(index, removed_source_ids, rows)

    @staticmethod
    def current(path: str | Path) -> bool:
        """Whether ``path`` holds an index of this module's layout, one :meth:`derive` can start from."""
        try:
            _check_format(Path(path))
        except ValueError:
            return False
        return (Path(path) / "meta.json").is_file()

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> LexicalIndex:
        """Open a published index for searching.

        :raises IndexNotFoundError: when ``path`` holds no lexical index.
        """
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise IndexNotFoundError(f"There is no lexical index in {path}.")
        _check_format(path)
        index = tantivy.Index.open(str(path))
        _register(index)
        index.config_reader(reload_policy="Manual")
        return cls(index, path)

    def __len__(self) -> int:
        return self._searcher.num_docs

    def search(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None = None,
               exclude_rowids: Collection[int] = (), title_weight: float | None = None,
               rowids: Collection[int] | None = None) -> list[tuple[int, float]]:
        """The ``top_k`` best passages matching ``plan``, as ``(rowid, bm25 score)``, best first.

        :param source_ids: only passages of these sources (applied inside the engine, before ranking).
        :param exclude_rowids: passages left out.
        :param title_weight: weight of the title against the text; None for ``DEFAULT_TITLE_WEIGHT``.
        :param rowids: only these passages (for filters that are not on sources).
        """
        if top_k <= 0 or (source_ids is not None and not source_ids) or (rowids is not None and not rowids):
            return []
        weight = TITLE_SCALE * (DEFAULT_TITLE_WEIGHT if title_weight is None else float(title_weight))
        query = self._compile(plan, weight)
        if query is None:
            return []
        restrictions: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if source_ids is not None:
            restrictions.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(self._schema, "source_id", list(source_ids)), 0.0)))
        if rowids is not None:
            restrictions.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(self._schema, "rowid", [int(r) for r in rowids]), 0.0)))
        if restrictions:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), *restrictions])
        # Excluded rows (a handful: the strict hits a relaxed search adds to) are dropped here rather
        # than in the query, which would turn a prunable union into one scored in full. count=False
        # likewise: counting every match would visit them all.
        excluded = set(exclude_rowids)
        found = self._searcher.search(query, limit=top_k + len(excluded), count=False).hits
        if not found:
            return []
        ids = self._searcher.fast_field_values("rowid", [address for _, address in found])
        ranked = [(int(rowid), float(score)) for (score, _), rowid in zip(found, ids, strict=True)  # type: ignore[arg-type]  # a u64 fast field
                  if rowid not in excluded]
        return ranked[:top_k]

    def matching(self, plan: MatchPlan, rowids: Collection[int]) -> set[int]:
        """Which of ``rowids`` match ``plan`` exactly (phrases word for word, in the text or the title).

        For checking candidates: the cost follows ``rowids``, not how common the words are.
        """
        ids = [int(r) for r in rowids]
        if not ids:
            return set()
        within = tantivy.Query.term_set_query(self._schema, "rowid", ids)
        matched: set[int] | None = None
        for clause in plan.clauses:
            found: set[int] = set()
            for query in self._exact(clause, within):
                hits = self._searcher.search(query, limit=len(ids), count=False).hits
                if hits:
                    found |= {int(r) for r in self._searcher.fast_field_values(  # type: ignore[arg-type]  # u64 field
                        "rowid", [address for _, address in hits])}
            matched = found if matched is None else matched & found
            if not matched:
                return set()
        return {int(r) for r in matched or ()}

    def sources_matching(self, words: tuple[Term, ...], among: Collection[str]) -> set[str]:
        """Which of the sources ``among`` have a passage holding any of ``words`` (phrases word for word).

        The cost follows those sources' passages, not how common the words are.
        """
        if not among:
            return set()
        within = tantivy.Query.term_set_query(self._schema, "source_id", list(among))
        found: set[str] = set()
        for query in self._exact(words, within):
            counted = self._searcher.aggregate(query, {"s": {"terms": {"field": "source_id", "size": len(among)}}})
            found |= {bucket["key"] for bucket in counted["s"]["buckets"]}
        return found

    def source_counts(self, terms: Sequence[Term]) -> list[dict[str, int]]:
        """For each word or phrase, every source holding it (phrases word for word) in a passage's text, its title
        or its byline, with how many of its passages do: over the whole index, not a ranked sample.

        A terms aggregation over the source id (what Elasticsearch calls collapsing a whole match by a field):
        tantivy visits every matching passage in Rust, so a word most passages hold costs milliseconds.
        """
        fields = ("content", "title") + ((BYLINE,) if self.has_byline else ())
        size = max(1, len(self))
        out: list[dict[str, int]] = []
        for term in terms:
            tokens = self.analyze(term)
            if not tokens:
                out.append({})
                continue
            queries = [self._field_query(field, tokens, exact=True) for field in fields]
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])
            counted = self._searcher.aggregate(query, {"s": {"terms": {"field": "source_id", "size": size}}})
            out.append({bucket["key"]: int(bucket["doc_count"]) for bucket in counted["s"]["buckets"]})
        return out

    def _exact(self, words: tuple[Term, ...], within: tantivy.Query) -> list[tantivy.Query]:
        """One query for each word or phrase of ``words`` in each field, among the documents of ``within``.

        Each is the intersection of two queries, led by the smaller: a union of phrase queries would
        check the phrases' positions across the whole corpus.
        """
        queries = []
        for tokens in (self.analyze(t) for t in words):
            for field in ("content", "title") if tokens else ():
                exact = self._field_query(field, tokens, exact=True)
                queries.append(tantivy.Query.boolean_query([(tantivy.Occur.Must, within),
                                                            (tantivy.Occur.Must, exact)]))
        return queries

    # -- query building ----------------------------------------------------------------------

    def _compile(self, plan: MatchPlan, title_weight: float) -> tantivy.Query | None:
        """The plan as a tantivy query; None when it can match nothing (a clause with no searchable word).

        A clause is one flat union of term (or phrase) queries over both fields: tantivy prunes a
        union of term queries (block-max WAND) but scores every match of a nested one. For the
        same reason the any-word clause of a relaxed plan matches a long phrase by its pairs.
        """
        fields: tuple[str, ...] = ("content", "title") if title_weight > 0 else ("content",)
        if plan.any_word and self.has_byline and title_weight > 0:
            fields += (BYLINE,)
        musts: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for number, clause in enumerate(plan.clauses):
            by_parts = plan.any_word and number == 0
            weights = plan.weights if number == 0 and len(plan.weights) == len(clause) else (1,) * len(clause)
            alternatives = [q if weight == 1 else tantivy.Query.boost_query(q, float(weight))
                            for t, weight in zip(clause, weights, strict=True)
                            for q in self._term(t, fields, title_weight, by_parts)]
            if not alternatives:
                return None
            musts.append((tantivy.Occur.Must, alternatives[0] if len(alternatives) == 1 else
                          tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in alternatives])))
        if not musts:
            return None
        excluded = [(tantivy.Occur.MustNot, q) for t in plan.exclusions for q in self._term(t, ("content", "title"))]
        if len(musts) == 1 and not excluded:
            return musts[0][1]
        return tantivy.Query.boolean_query(musts + excluded)

    def _term(self, term: Term, fields: tuple[str, ...], title_weight: float = 1.0,
              by_parts: bool = False) -> list[tantivy.Query]:
        """A word or phrase in each of ``fields``, the title's weighted; none when it has no searchable token.

        ``by_parts``: a phrase of three or more words as any of its pairs, each its own query.
        """
        tokens = self.analyze(term)
        if not tokens:
            return []
        found = []
        for field in fields:
            queries = ([self._pair(field, a, b) for a, b in pairwise(tokens)]
                       if by_parts and len(tokens) > 2 else [self._field_query(field, tokens)])
            weight = title_weight * BYLINE_SCALE if field == BYLINE else title_weight if field == "title" else 1.0
            found += [q if weight == 1.0 else tantivy.Query.boost_query(q, weight) for q in queries]
        return found

    def _field_query(self, field: str, tokens: list[str], exact: bool = False) -> tantivy.Query:
        """A word, or a phrase: by default its pairs, which every passage holding the phrase holds (a
        phrase query of common words checks positions in most of the corpus and cannot be pruned);
        ``exact``, the phrase itself, for checking a few candidates (:meth:`matching`)."""
        if len(tokens) == 1:
            return tantivy.Query.term_query(self._schema, field, tokens[0], index_option="freq")
        if exact:
            return tantivy.Query.phrase_query(self._schema, field, list[str | tuple[int, str]](tokens))
        pairs = [self._pair(field, a, b) for a, b in pairwise(tokens)]
        return pairs[0] if len(pairs) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in pairs])

    def _pair(self, field: str, first: str, second: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, _PAIR_FIELDS.get(field, _BYLINE_PAIRS), f"{first}_{second}",
                                        index_option="freq")

    def prepare(self, plans: Sequence[MatchPlan], terms: Sequence[Term], title_weight: float | None = None) -> None:
        """Nothing to do: the term statistics are in the memory-mapped index."""

    def document_frequencies(self, terms: Sequence[Term]) -> list[int]:
        """How many passages hold each word (in the text, plus in the title; a phrase: its rarest
        adjacent pair, at least as many as hold the phrase), for picking a long query's informative words.

        One dictionary lookup per token: no passage is read.
        """
        counts = []
        for term in terms:
            tokens = self.analyze(term)
            if len(tokens) == 1:
                counts.append(sum(self._searcher.doc_freq(f, tokens[0]) for f in ("content", "title")))
            elif tokens:
                counts.append(min(sum(self._searcher.doc_freq(_PAIR_FIELDS[f], f"{a}_{b}") for f in _PAIR_FIELDS)
                                  for a, b in pairwise(tokens)))
            else:
                counts.append(0)
        return counts


    def word_document_counts(self, terms: Sequence[Term]) -> dict[Term, int]:
        """How many passages hold each word or phrase's every token (in the text, title or byline), for telling
        which query words the index does not hold at all: a phrase counts its rarest token. Cheap: one term
        dictionary lookup per token and field."""
        fields = ("content", "title") + ((BYLINE,) if self.has_byline else ())
        counts: dict[Term, int] = {}
        for term in terms:
            tokens = self.analyze(term)
            counts[term] = min((sum(int(self._searcher.doc_freq(f, t)) for f in fields) for t in tokens), default=0)
        return counts




def _has_field(searcher: tantivy.Searcher, field: str) -> bool:
    """Whether the index's schema has ``field`` (an index written before it was added has not)."""
    try:
        searcher.doc_freq(field, "")
    except ValueError:
        return False
    return True


def _check_format(path: Path) -> None:
    """:raises ValueError: for an index this version of the module did not write."""
    try:
        written = json.loads((path / FORMAT_FILE).read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        written = None
    if written != FORMAT:
        raise ValueError(f"the lexical index in {path} has format {written}, this version reads {FORMAT}")


def _write(index: tantivy.Index, removed_source_ids: Iterable[str], rows: Iterable[LexicalRow]) -> int:
    byline = _has_field(index.searcher(), BYLINE)  # derived from an index written before the field: as it was
    # Two threads at most: this machine class has two cores, and each thread writes its own segments.
    writer = index.writer(heap_size=_WRITER_HEAP, num_threads=min(2, os.cpu_count() or 1))
    try:
        for source_id in removed_source_ids:
            writer.delete_documents_by_term("source_id", source_id)
        text_analyzer = analyzer()
        titles: dict[str, list[str]] = {}  # a source's passages share its title: analyse it once
        for row in rows:
            content, title = row.content or "", row.title or ""
            if title not in titles:
                titles = titles if len(titles) < 10_000 else {}
                titles[title] = text_analyzer.analyze(title)
            title_tokens, content_tokens = titles[title], text_analyzer.analyze(content)
            if TITLE_IN_TEXT and title_tokens:
                content, content_tokens = f"{title}\n{content}", title_tokens + content_tokens
            fields = {BYLINE: row.byline, _BYLINE_PAIRS: _pairs(text_analyzer.analyze(row.byline))} if byline else {}
            writer.add_document(tantivy.Document(
                rowid=int(row.rowid), source_id=row.source_id or "", title=title, content=content,
                content_pairs=_pairs(content_tokens), title_pairs=_pairs(title_tokens), **fields))
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    index.reload()
    return index.searcher().num_docs
