"""The lexical index of a generation in PostgreSQL: tantivy's BM25, computed in SQL from term statistics.

With the shared store (issue 17) a generation is a PostgreSQL schema, and web replicas hold nothing
locally, so the tantivy directory of :mod:`index.lexical` cannot serve them. This module keeps that
index's model exactly and moves only where it lives:

- the same tokens: tantivy's own analyzer (:func:`index.lexical._analyzer`), called from Python at
  build time, so stems, folding and dropped long tokens are identical;
- the same fields: the text (with the title as its first words, ``TITLE_IN_TEXT``), the title, the
  byline, and the adjacent pairs of each ("looked_after"), as which phrases are searched;
- the same score: BM25 with k1 1.2 and b 0.75, idf ``ln(1 + (N − df + 0.5) / (df + 0.5))``, each
  field's length quantised to tantivy's one-byte "fieldnorm" code and its average from the field's
  token total, the title and byline boosted and clauses combined as :meth:`LexicalIndex._compile` does.

Tables, in the generation's schema::

    lex_postings(field, term, rowid, tf, dl)   one row per (field, term, passage); dl = the field's
                                               quantised length; an index on (field, term, rowid)
                                               covering tf and dl, so a term is one index range
    lex_terms(field, term, df)                 document frequencies (idf, long queries' word choice)
    lex_docs(rowid, source_id, content, title) per passage: its source and its analysed tokens
                                               (for checking phrases word for word)
    lex_fields(field, name, total_tokens, docs) field totals (average lengths) and the passage count

Usage::

    with pool.connection() as conn:                 # the generation's writer, inside its transaction
        write_lexical(conn, gen_schema(gen_id), store.lexical_rows())
    index = PgLexicalIndex(pool, gen_schema(gen_id))  # serving: read-only, shared by threads
    index.search(parse_query("edge of care").strict_plan(), top_k=100)   # [(rowid, score), ...]

Unlike tantivy's block-max WAND, the SQL scores every passage holding a query word before keeping
``top_k``, so its time follows how common the words are (docs/benchmarks.md, "Lexical search in PostgreSQL").
"""

from __future__ import annotations

import math
import re
import struct
import tempfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from index.errors import IndexNotFoundError
from index.lexical import (
    BYLINE_SCALE,
    DEFAULT_TITLE_WEIGHT,
    TITLE_IN_TEXT,
    TITLE_SCALE,
    LexicalRow,
    _analyzer,
    _within,
)
from index.pg import ProcessPool
from index.query import MatchPlan, ParsedQuery, Term

# Field codes, as stored (names as in index/lexical.py's tantivy schema).
CONTENT, TITLE, BYLINE, CONTENT_PAIRS, TITLE_PAIRS, BYLINE_PAIRS = range(6)
FIELD_NAMES = ("content", "title", "byline", "content_pairs", "title_pairs", "byline_pairs")
_PAIRS_OF = {CONTENT: CONTENT_PAIRS, TITLE: TITLE_PAIRS, BYLINE: BYLINE_PAIRS}
# tantivy's BM25 constants (src/query/bm25.rs).
K1, B = 1.2, 0.75
# tantivy stores a field's length in one byte: exact up to 40 tokens, then on a log scale, each length
# rounded down to the code below it (src/fieldnorm/code.rs). BM25 reads the rounded length, so the
# scores only agree if this table is applied the same way.
_FIELDNORMS = tuple(b if b < 24 else 24 + ((b - 24) & 7 if (b - 24) >> 3 == 0
                                            else (((b - 24) & 7) | 8) << (((b - 24) >> 3) - 1))
                    for b in range(256))
# Postings are sent to COPY in batches of this many rows, the passages' rows in blocks of this many characters.
_COPY_LINES = 50_000
_COPY_BATCH = 1 << 20
# What COPY's text format escapes; tokens are runs of letters and digits, so this is for the rare folded one.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_HIGHLIGHT_TERM = re.compile(r'"((?:[^"]|"")*)"')


def fieldnorm(length: int) -> int:
    """A field's length as tantivy's BM25 reads it (rounded down to its one-byte code's value)."""
    return _FIELDNORMS[bisect_right(_FIELDNORMS, length) - 1]


def _copy_text(value: str) -> str:
    if not _COPY_SPECIAL.search(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _pairs(tokens: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in pairwise(tokens)]


def _table(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


_DDL = """
CREATE TABLE {postings} (field smallint NOT NULL, term text COLLATE "C" NOT NULL, rowid bigint NOT NULL,
                         tf integer NOT NULL, dl integer NOT NULL);
CREATE TABLE {docs} (rowid bigint NOT NULL, source_id text NOT NULL, content text NOT NULL, title text NOT NULL);
CREATE TABLE {fields} (field smallint PRIMARY KEY, name text NOT NULL, total_tokens bigint NOT NULL,
                       docs bigint NOT NULL);
"""


# -- writing ------------------------------------------------------------------------------------


def write_lexical(conn: psycopg.Connection, schema: str, rows: Iterable[LexicalRow]) -> int:
    """Create the lexical tables in the existing ``schema`` and fill them with ``rows``; not committed
    (the caller's transaction publishes the generation whole). ``conn`` must not be in autocommit.

    Loaded with COPY ... FREEZE when the transaction allows it (the tables are made in the same
    savepoint): the rows are then visible to every later reader without a VACUUM, which cannot run
    inside a transaction, so a term's postings are read from its index range alone.

    :returns: how many passages it holds.
    """
    names = {n: _table(schema, f"lex_{n}") for n in ("postings", "docs", "fields", "terms")}
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        conn.execute("SELECT 1")  # open the caller's transaction, so that the block below is a savepoint in it
    try:
        with conn.transaction():
            conn.execute(sql.SQL(_DDL).format(**names))
            count, totals = _copy_rows(conn, names, rows, freeze=True)
    except psycopg.errors.ObjectNotInPrerequisiteState:  # COPY FREEZE refused (an open cursor, an old snapshot)
        with conn.transaction():
            conn.execute(sql.SQL(_DDL).format(**names))
            count, totals = _copy_rows(conn, names, rows, freeze=False)
    # Sorting the postings for their index is most of the build's time in PostgreSQL: in memory, not in runs
    # on disk (the default 64 MB); for this transaction only.
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(names["fields"]),
                        [(f, FIELD_NAMES[f], totals[f], count) for f in range(len(FIELD_NAMES))])
    conn.execute(sql.SQL("CREATE INDEX {} ON {} (field, term, rowid) INCLUDE (tf, dl)")
                 .format(sql.Identifier("lex_postings_term"), names["postings"]))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} (rowid)").format(sql.Identifier("lex_docs_rowid"),
                                                                        names["docs"]))
    conn.execute(sql.SQL("CREATE INDEX {} ON {} (source_id)").format(sql.Identifier("lex_docs_source"),
                                                                     names["docs"]))
    conn.execute(sql.SQL("CREATE TABLE {} AS SELECT field, term, count(*)::bigint AS df FROM {} GROUP BY field, term")
                 .format(names["terms"], names["postings"]))
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (field, term)").format(names["terms"]))
    for name in ("postings", "docs", "terms", "fields"):
        conn.execute(sql.SQL("ANALYZE {}").format(names[name]))
    return count


def _copy_rows(conn: psycopg.Connection, names: Mapping[str, sql.Composed], rows: Iterable[LexicalRow],
               freeze: bool) -> tuple[int, list[int]]:
    """COPY the postings while the passages' own rows wait in a temporary file (one COPY at a time per
    connection, and ``rows`` may be read once); returns the passage count and each field's token total."""
    option = sql.SQL(" WITH (FREEZE)" if freeze else "")
    analyzer = _analyzer()
    totals = [0] * len(FIELD_NAMES)
    count = 0
    cache: dict[str, list[str]] = {}  # a source's passages share its title and byline: analyse each once

    def analysed(text: str) -> list[str]:
        nonlocal cache
        found = cache.get(text)
        if found is None:
            cache = cache if len(cache) < 10_000 else {}
            found = cache[text] = analyzer.analyze(text)
        return found

    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY {} (field, term, rowid, tf, dl) FROM STDIN{}").format(
                names["postings"], option)) as copy:
            lines: list[str] = []
            for row in rows:
                title_tokens = analysed(row.title or "")
                content_tokens = analyzer.analyze(row.content or "")
                if TITLE_IN_TEXT and title_tokens:
                    content_tokens = title_tokens + content_tokens
                byline_tokens = analysed(row.byline) if row.byline else []
                rowid = int(row.rowid)
                content_text, title_text = " ".join(content_tokens), " ".join(title_tokens)
                spool.write(f"{rowid}\t{_copy_text(row.source_id or '')}\t{_copy_text(content_text)}\t"
                            f"{_copy_text(title_text)}\n")
                escape = bool(_COPY_SPECIAL.search(content_text) or _COPY_SPECIAL.search(title_text)
                              or _COPY_SPECIAL.search(" ".join(byline_tokens)))
                for field, tokens in ((CONTENT, content_tokens), (TITLE, title_tokens), (BYLINE, byline_tokens)):
                    for code, terms in ((field, tokens), (_PAIRS_OF[field], _pairs(tokens))):
                        totals[code] += len(terms)
                        if not terms:
                            continue
                        dl = fieldnorm(len(terms))
                        if escape:
                            lines.extend(f"{code}\t{_copy_text(t)}\t{rowid}\t{tf}\t{dl}\n"
                                         for t, tf in Counter(terms).items())
                        else:
                            lines.extend(f"{code}\t{t}\t{rowid}\t{tf}\t{dl}\n" for t, tf in Counter(terms).items())
                count += 1
                if len(lines) >= _COPY_LINES:
                    copy.write("".join(lines))
                    lines = []
            if lines:
                copy.write("".join(lines))
        spool.seek(0)
        with cur.copy(sql.SQL("COPY {} (rowid, source_id, content, title) FROM STDIN{}").format(
                names["docs"], option)) as copy:
            while block := spool.read(_COPY_BATCH):
                copy.write(block)
    return count, totals


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    """One term of one field; an alternative of a clause matches when all of its atoms do."""

    field: int
    term: str


@dataclass(frozen=True)
class _Alternative:
    clause: int
    atoms: tuple[_Atom, ...]
    boost: float


_SEARCH = """
WITH atoms(alt, field, term, w, avgdl) AS (
    SELECT * FROM unnest(%(alt)s::int[], %(field)s::smallint[], %(term)s::text[], %(w)s::float8[],
                         %(avgdl)s::float8[])),
alts(alt, clause, size) AS (SELECT * FROM unnest(%(alts)s::int[], %(clauses)s::int[], %(sizes)s::int[])),
hits AS (
    SELECT p.rowid, a.alt, count(*) AS n,
           sum(a.w * p.tf / (p.tf + {k1} * (1 - {b} + {b} * p.dl / a.avgdl))) AS score
    FROM atoms a JOIN {postings} p ON p.field = a.field AND p.term = a.term {within}
    GROUP BY p.rowid, a.alt),
matched AS (
    SELECT h.rowid, count(DISTINCT l.clause) AS clauses, sum(h.score) AS score
    FROM hits h JOIN alts l ON l.alt = h.alt AND h.n = l.size
    GROUP BY h.rowid)
SELECT m.rowid, m.score FROM matched m {sources}
WHERE m.clauses = %(needed)s AND NOT (m.rowid = ANY(%(excluded)s::bigint[])) {exclusions}
ORDER BY m.score DESC, m.rowid
LIMIT %(limit)s
"""

_EXCLUSIONS = """
AND m.rowid NOT IN (
    SELECT p.rowid FROM unnest(%(xalt)s::int[], %(xfield)s::smallint[], %(xterm)s::text[], %(xsize)s::int[])
                        AS x(alt, field, term, size)
    JOIN {postings} p ON p.field = x.field AND p.term = x.term
    GROUP BY p.rowid, x.alt HAVING count(*) = max(x.size))
"""


class PgLexicalIndex:
    """A generation's lexical tables (written by :func:`write_lexical`), searched as :class:`LexicalIndex` is.

    Read-only and shared by threads: each call takes a connection from ``pool``. The passage count
    and each field's average length are read once here (a generation's tables never change).

    :raises IndexNotFoundError: when ``schema`` holds no lexical tables.
    """

    def __init__(self, pool: ConnectionPool | ProcessPool, schema: str) -> None:
        self._pool = pool
        self.schema = schema
        self._analyzer = _analyzer()
        self._postings = _table(schema, "lex_postings")
        self._docs = _table(schema, "lex_docs")
        self._terms = _table(schema, "lex_terms")
        with pool.connection() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".lex_fields',)).fetchone() == (None,):
                raise IndexNotFoundError(f"There is no lexical index in the schema {schema}.")
            stats = {r[0]: (int(r[1]), int(r[2]))
                     for r in conn.execute(sql.SQL("SELECT field, total_tokens, docs FROM {}").format(
                         _table(schema, "lex_fields")))}
        self._docs_count = next(iter(stats.values()))[1] if stats else 0
        self._avgdl = [(stats[f][0] / self._docs_count if self._docs_count and f in stats else 0.0) or 1.0
                       for f in range(len(FIELD_NAMES))]
        self.has_byline = True  # always written (an index without bylines has them empty)

    def __len__(self) -> int:
        return self._docs_count

    # -- search -------------------------------------------------------------------------------

    def search(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None = None,
               exclude_rowids: Collection[int] = (), title_weight: float | None = None,
               rowids: Collection[int] | None = None) -> list[tuple[int, float]]:
        """The ``top_k`` best passages matching ``plan``, as ``(rowid, bm25 score)``, best first
        (:meth:`LexicalIndex.search`: the same matches and, within float rounding, the same scores).

        :param source_ids: only passages of these sources (applied before ranking).
        :param exclude_rowids: passages left out.
        :param title_weight: weight of the title against the text; None for ``DEFAULT_TITLE_WEIGHT``.
        :param rowids: only these passages (for filters that are not on sources).
        """
        if top_k <= 0 or (source_ids is not None and not source_ids) or (rowids is not None and not rowids):
            return []
        weight = TITLE_SCALE * (DEFAULT_TITLE_WEIGHT if title_weight is None else float(title_weight))
        alternatives = self._compile(plan, weight)
        if alternatives is None:
            return []
        exclusions = [_Alternative(0, atoms, 1.0) for t in plan.exclusions
                      for atoms in self._term_atoms(t, (CONTENT, TITLE), False)]
        dfs = self._dfs({a for alt in alternatives for a in alt.atoms})
        total = self._docs_count
        params: dict[str, Any] = {"alt": [], "field": [], "term": [], "w": [], "avgdl": []}
        for number, alt in enumerate(alternatives):
            for atom in alt.atoms:
                df = dfs.get(atom, 0)
                params["alt"].append(number)
                params["field"].append(atom.field)
                params["term"].append(atom.term)
                params["w"].append(alt.boost * (1 + K1) * math.log(1 + (total - df + 0.5) / (df + 0.5)))
                params["avgdl"].append(self._avgdl[atom.field])
        params.update(alts=list(range(len(alternatives))), clauses=[a.clause for a in alternatives],
                      sizes=[len(a.atoms) for a in alternatives], needed=len(plan.clauses),
                      excluded=[int(r) for r in exclude_rowids], limit=top_k)
        parts: dict[str, sql.Composable] = {"postings": self._postings, "within": sql.SQL(""),
                                            "sources": sql.SQL(""), "exclusions": sql.SQL(""),
                                            "k1": sql.Literal(K1), "b": sql.Literal(B)}
        if rowids is not None:
            parts["within"] = sql.SQL("AND p.rowid = ANY(%(rowids)s::bigint[])")
            params["rowids"] = [int(r) for r in rowids]
        if source_ids is not None:
            parts["sources"] = sql.SQL("JOIN {} d ON d.rowid = m.rowid AND d.source_id = ANY(%(sources)s::text[])"
                                       ).format(self._docs)
            params["sources"] = list(source_ids)
        if exclusions:
            parts["exclusions"] = sql.SQL(_EXCLUSIONS).format(postings=self._postings)
            params.update(xalt=[n for n, x in enumerate(exclusions) for _ in x.atoms],
                          xfield=[a.field for x in exclusions for a in x.atoms],
                          xterm=[a.term for x in exclusions for a in x.atoms],
                          xsize=[len(x.atoms) for x in exclusions for _ in x.atoms])
        with self._pool.connection() as conn:
            found = conn.execute(sql.SQL(_SEARCH).format(**parts), params).fetchall()
        return [(int(rowid), _single(score)) for rowid, score in found]

    def _compile(self, plan: MatchPlan, title_weight: float) -> list[_Alternative] | None:
        """The plan as alternatives (clause, atoms that must all match, boost), as :meth:`LexicalIndex._compile`
        builds tantivy's query; None when a clause has no searchable word."""
        fields: tuple[int, ...] = (CONTENT, TITLE) if title_weight > 0 else (CONTENT,)
        if plan.any_word and self.has_byline and title_weight > 0:
            fields += (BYLINE,)
        alternatives: list[_Alternative] = []
        for number, clause in enumerate(plan.clauses):
            by_parts = plan.any_word and number == 0
            weights = plan.weights if number == 0 and len(plan.weights) == len(clause) else (1,) * len(clause)
            found = [_Alternative(number, atoms, float(weight) * _field_boost(atoms[0].field, title_weight))
                     for term, weight in zip(clause, weights, strict=True)
                     for atoms in self._term_atoms(term, fields, by_parts)]
            if not found:
                return None
            alternatives += found
        return alternatives or None

    def _term_atoms(self, term: Term, fields: tuple[int, ...], by_parts: bool) -> list[tuple[_Atom, ...]]:
        """A word or phrase in each of ``fields``: a word, a phrase's pairs together, or (``by_parts``, three
        words or more) each pair on its own."""
        tokens = self.analyze(term)
        if not tokens:
            return []
        found: list[tuple[_Atom, ...]] = []
        for field in fields:
            if len(tokens) == 1:
                found.append((_Atom(field, tokens[0]),))
            elif by_parts and len(tokens) > 2:
                found += [(_Atom(_PAIRS_OF[field], pair),) for pair in _pairs(tokens)]
            else:
                found.append(tuple(_Atom(_PAIRS_OF[field], pair) for pair in _pairs(tokens)))
        return found

    def _dfs(self, atoms: Iterable[_Atom]) -> dict[_Atom, int]:
        wanted = list(set(atoms))
        if not wanted:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(sql.SQL(
                "SELECT t.field, t.term, t.df FROM unnest(%s::smallint[], %s::text[]) AS q(field, term) "
                "JOIN {} t ON t.field = q.field AND t.term = q.term").format(self._terms),
                ([a.field for a in wanted], [a.term for a in wanted])).fetchall()
        return {_Atom(int(f), t): int(df) for f, t, df in rows}

    # -- exact matches --------------------------------------------------------------------------

    def matching(self, plan: MatchPlan, rowids: Collection[int]) -> set[int]:
        """Which of ``rowids`` match ``plan`` exactly (phrases word for word, in the text or the title).

        Checked on those passages' analysed tokens: the cost follows ``rowids``, not how common the words are.
        """
        ids = sorted({int(r) for r in rowids})
        if not ids or not plan.clauses:
            return set()
        with self._pool.connection() as conn:
            tokens = {int(r): (c.split(), t.split()) for r, c, t in conn.execute(
                sql.SQL("SELECT rowid, content, title FROM {} WHERE rowid = ANY(%s::bigint[])").format(self._docs),
                (ids,))}
        wanted = [[w for w in (self.analyze(t) for t in clause) if w] for clause in plan.clauses]
        return {rowid for rowid, texts in tokens.items()
                if all(any(_holds(text, w) for w in clause for text in texts) for clause in wanted)}

    def sources_matching(self, words: tuple[Term, ...], among: Collection[str]) -> set[str]:
        """Which of the sources ``among`` have a passage holding any of ``words`` (phrases word for word).

        A word is looked up in its postings, restricted to those sources' passages; a phrase's candidates
        (passages of those sources holding all its pairs) are checked on their tokens.
        """
        if not among:
            return set()
        found: set[str] = set()
        with self._pool.connection() as conn:
            for tokens in (self.analyze(t) for t in words):
                if not tokens:
                    continue
                if len(tokens) == 1:
                    found |= {r[0] for r in conn.execute(sql.SQL(
                        "SELECT DISTINCT d.source_id FROM {} d JOIN {} p ON p.rowid = d.rowid "
                        "WHERE d.source_id = ANY(%s::text[]) AND p.field = ANY(%s::smallint[]) AND p.term = %s"
                    ).format(self._docs, self._postings), (list(among), [CONTENT, TITLE], tokens[0]))}
                    continue
                pairs = sorted(set(_pairs(tokens)))
                rows = conn.execute(sql.SQL(
                    "SELECT d.source_id, d.content, d.title FROM {docs} d WHERE d.source_id = ANY(%s::text[]) AND "
                    "d.rowid IN (SELECT p.rowid FROM {postings} p WHERE p.field = ANY(%s::smallint[]) "
                    "AND p.term = ANY(%s::text[]) GROUP BY p.rowid, p.field HAVING count(*) = %s)"
                ).format(docs=self._docs, postings=self._postings),
                    (list(among), [CONTENT_PAIRS, TITLE_PAIRS], pairs, len(pairs)))
                found |= {source for source, content, title in rows
                          if source not in found and (_holds(content.split(), tokens) or _holds(title.split(), tokens))}
        return found

    # -- statistics and tokens ------------------------------------------------------------------

    def document_frequencies(self, terms: Sequence[Term]) -> list[int]:
        """How many passages hold each word (in the text, plus in the title; a phrase: its rarest adjacent
        pair, at least as many as hold the phrase), as :meth:`LexicalIndex.document_frequencies`."""
        analysed = [self.analyze(t) for t in terms]
        atoms = [_Atom(f, tokens[0]) for tokens in analysed if len(tokens) == 1 for f in (CONTENT, TITLE)]
        atoms += [_Atom(f, p) for tokens in analysed if len(tokens) > 1 for p in _pairs(tokens)
                  for f in (CONTENT_PAIRS, TITLE_PAIRS)]
        dfs = self._dfs(atoms)
        counts = []
        for tokens in analysed:
            if len(tokens) == 1:
                counts.append(sum(dfs.get(_Atom(f, tokens[0]), 0) for f in (CONTENT, TITLE)))
            elif tokens:
                counts.append(min(sum(dfs.get(_Atom(f, p), 0) for f in (CONTENT_PAIRS, TITLE_PAIRS))
                                  for p in _pairs(tokens)))
            else:
                counts.append(0)
        return counts

    def word_document_counts(self, terms: Sequence[Term]) -> dict[Term, int]:
        """How many passages hold each word or phrase's every token (in the text, title or byline): a phrase
        counts its rarest token, as :meth:`LexicalIndex.word_document_counts`."""
        fields = (CONTENT, TITLE) + ((BYLINE,) if self.has_byline else ())
        analysed = {term: self.analyze(term) for term in terms}
        dfs = self._dfs(_Atom(f, t) for tokens in analysed.values() for t in tokens for f in fields)
        return {term: min((sum(dfs.get(_Atom(f, t), 0) for f in fields) for t in tokens), default=0)
                for term, tokens in analysed.items()}

    def analyze(self, term: Term) -> list[str]:
        """The indexed tokens of a word or phrase (its stems, as the index holds them)."""
        return [token for word in term.tokens for token in self._analyzer.analyze(word)]

    def analyze_text(self, text: str) -> list[str]:
        """A text's tokens as the index holds them (for telling where a query's words are)."""
        return list(self._analyzer.analyze(text))

    def near(self, terms: Sequence[Term], texts: Mapping[int, Sequence[str]], gap: int) -> set[int]:
        """Which rows hold every term (phrases word for word) with at most ``gap`` other tokens between the
        first and the last, in any order, within one of their texts (:meth:`LexicalIndex.near`)."""
        wanted = [w for w in (self.analyze(t) for t in terms) if w]
        if len(wanted) < 2:
            return set()
        return {rowid for rowid, columns in texts.items()
                if any(_within(self._analyzer.analyze(text), wanted, gap) for text in columns if text)}

    def highlight(self, query: ParsedQuery, texts: Mapping[int, str], open_mark: str, close_mark: str
                  ) -> dict[int, str]:
        """Each text with ``open_mark``/``close_mark`` around the words and phrases of the query's highlight
        match (:meth:`ParsedQuery.highlight_match`: a long query's searched words, a short one's every word)
        where the text holds them, stem for stem; overlapping matches share one mark, as FTS5's ``highlight()``.

        Only texts with at least one mark are returned (FTS5 returned the rows its match found). The marks
        are placed at the analyser's own character offsets of tokens of the text itself, so nothing that is
        not in the text is ever marked.
        """
        phrases = [tokens for tokens in (self.analyze(Term(tuple(m.replace('""', '"').split())))
                                         for m in _HIGHLIGHT_TERM.findall(query.highlight_match())) if tokens]
        if not phrases:
            return {}
        out: dict[int, str] = {}
        for rowid, text in texts.items():
            if not text:
                continue
            tokens = self._analyzer.pre_tokenize(text).tokens
            stems = [t.text for t in tokens]
            spans: list[tuple[int, int]] = []
            for phrase in phrases:
                size = len(phrase)
                spans += [(tokens[i].char_offset_from, tokens[i + size - 1].char_offset_to)
                          for i, stem in enumerate(stems) if stem == phrase[0] and stems[i:i + size] == phrase]
            if spans:
                out[rowid] = _marked(text, spans, open_mark, close_mark)
        return out


def _field_boost(field: int, title_weight: float) -> float:
    if field in (BYLINE, BYLINE_PAIRS):
        return title_weight * BYLINE_SCALE
    return title_weight if field in (TITLE, TITLE_PAIRS) else 1.0


def _holds(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``tokens`` holds ``phrase`` word for word."""
    size, first = len(phrase), phrase[0]
    return any(token == first and list(tokens[i:i + size]) == list(phrase) for i, token in enumerate(tokens))


def _marked(text: str, spans: list[tuple[int, int]], open_mark: str, close_mark: str) -> str:
    """``text`` with each of ``spans`` (character ranges; overlapping ones merged) between the marks."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, at = [], 0
    for start, end in merged:
        parts += [text[at:start], open_mark, text[start:end], close_mark]
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _single(score: float) -> float:
    """A score in single precision, as tantivy computes and reports it: the searcher's scores then round
    alike downstream (``kb eval``'s run files hold them to 6 decimals, which trec_eval reads as floats)."""
    return float(struct.unpack("f", struct.pack("f", score))[0])
