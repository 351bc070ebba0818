"""Searching a generation's lexical tables in PostgreSQL: tantivy's BM25, computed in SQL from term statistics.

With the shared store (issue 17) a generation is a PostgreSQL schema, and web replicas hold nothing
locally, so the tantivy directory of :mod:`index.storage.local.lexical` cannot serve them. This module keeps that
index's model exactly and moves only where it lives:

- the same tokens: tantivy's own analyzer (:func:`index.storage.analysis.analyzer`), called from Python at
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
    lex_terms(field, term, df, bound)          document frequencies (idf, long queries' word choice) and
                                               each term's largest normalised tf (bounds for pruning)
    lex_docs(rowid, source_id, content, title) per passage: its source and its analysed tokens
                                               (for checking phrases word for word)
    lex_fields(field, name, total_tokens, docs) field totals (average lengths) and the passage count

Usage::

    with pool.connection() as conn:                 # the generation's writer, inside its transaction
        write_lexical(conn, gen_schema(gen_id), store.lexical_rows())
    index = PgLexicalIndex(pool, gen_schema(gen_id))  # serving: read-only, shared by threads
    index.search(parse_query("edge of care").strict_plan(), top_k=100)   # [(rowid, score), ...]

Where it can prove the top k lies among fewer passages, the SQL scores only those (``_Query.statement``): a
strict query the passages of its rarest clause, a relaxed one by MaxScore (the passages of the words that
can add most, when the other words' bounds together fall short of the k-th score found), each search one
statement (MaxScore's passes included), so that a search's reads go to the server together. Otherwise, unlike
tantivy's block-max WAND, it scores every passage holding a query word before keeping ``top_k``, so its
time follows how common the words are (docs/benchmarks.md, "Lexical search in PostgreSQL"). Either way the
results are the same rows, order and scores; passages are ranked by their score in single precision, as
tantivy reports it, ties by rowid.
"""
from __future__ import annotations

import math
import struct
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from psycopg import sql
from psycopg_pool import ConnectionPool

from index.errors import IndexNotFoundError
from index.search.query import MatchPlan, Term
from index.storage.analysis import (
    BYLINE_SCALE,
    DEFAULT_TITLE_WEIGHT,
    TITLE_SCALE,
    AnalysedTerms,
    holds,
    token_pairs,
)
from index.storage.postgres.lexical_write import (
    BYLINE,
    BYLINE_PAIRS,
    CONTENT,
    CONTENT_PAIRS,
    FIELD_NAMES,
    K1,
    PAIRS_OF,
    TITLE,
    TITLE_PAIRS,
    B,
    table,
)
from index.storage.postgres.pool import ProcessPool
from index.storage.postgres.reads import Read, ask

# Term statistics kept per generation (about 100 bytes each): a query's words are read once, not per search.
_STATS_KEPT = 200_000

# -- reading ------------------------------------------------------------------------------------


class FoundRow(NamedTuple):
    """A passage a search found: its row and score, its id and source (None for a schema without passages), and its
    text, title and meta when the search was asked for them."""

    rowid: int
    score: float
    id: str | None
    source_id: str | None
    content: str | None
    title: str | None
    meta: str | None  # JSON text


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


# A search's words: each atom (one term of one field) with its weight, each alternative (atoms that must all match).
_WORDS = """
atoms(alt, field, term, w, avgdl) AS (
    SELECT * FROM unnest(%(alt)s::int[], %(field)s::smallint[], %(term)s::text[], %(w)s::float8[],
                         %(avgdl)s::float8[])),
alts(alt, clause, size) AS (SELECT * FROM unnest(%(alts)s::int[], %(clauses)s::int[], %(sizes)s::int[]))"""

# The top k of the passages ``within`` lets through, each scored over every word of the query: a CTE named NAME.
# Ranked by the score in single precision (what search returns), ties by rowid: a sum's last bits depend on the
# order PostgreSQL adds its rows in, which differs between the full and the pruned plans.
_TOP = """
NAME_hits AS (
    SELECT p.rowid, a.alt, count(*) AS n,
           sum(a.w * p.tf / (p.tf + {k1} * (1 - {b} + {b} * p.dl / a.avgdl))) AS score
    FROM atoms a JOIN {postings} p ON p.field = a.field AND p.term = a.term {within} {among}
    GROUP BY p.rowid, a.alt),
NAME_matched AS (
    SELECT h.rowid, {clauses} AS clauses, sum(h.score) AS score
    FROM NAME_hits h JOIN alts l ON l.alt = h.alt AND h.n = l.size
    GROUP BY h.rowid),
NAME AS (
    SELECT m.rowid, m.score FROM NAME_matched m {sources}
    WHERE m.clauses = %(needed)s AND NOT (m.rowid = ANY(%(excluded)s::bigint[])) {exclusions}
    ORDER BY m.score::real DESC, m.rowid
    LIMIT %(limit)s)"""

# What a search returns for each of its top k: (rowid, score, passage id, source id, text, title, meta, how MaxScore
# ended), the passage's columns joined to the top k only, after the limit.
_SEARCH = """
WITH {words},
{top}
SELECT t.rowid, t.score, {columns}, NULL::int FROM top t {passages}
ORDER BY t.score::real DESC, t.rowid
"""

_EXCLUSIONS = """
AND m.rowid NOT IN (
    SELECT p.rowid FROM unnest(%(xalt)s::int[], %(xfield)s::smallint[], %(xterm)s::text[], %(xsize)s::int[])
                        AS x(alt, field, term, size)
    JOIN {postings} p ON p.field = x.field AND p.term = x.term
    GROUP BY p.rowid, x.alt HAVING count(*) = max(x.size))
"""

# The strict query's candidates: the passages holding the rarest atom of one of the driving clause's alternatives.
_DRIVING = """
AND p.rowid = ANY(ARRAY(
    SELECT q.rowid FROM unnest(%(cfield)s::smallint[], %(cterm)s::text[]) AS c(field, term)
    JOIN {postings} q ON q.field = c.field AND q.term = c.term))
"""

# MaxScore in one statement (:meth:`_Query.statement`): ``plan`` holds the query's live alternatives in ascending order
# of their bounds (``pos``), each with its rarest atom, whether the first pass scores its passages, and ``reach``:
# the sum of the bounds up to it (times 1 + _BOUND_MARGIN). The first pass's k-th score θ says how many of them
# cannot bring a passage into the top k on their own (``cut``: those whose reach falls short of θ); ``decision``
# then reads what the caller worked out for that cut (0: the first pass is the answer; 1: score the passages of
# the others not scored yet, and keep the best k of both; 2: not worth it, score every passage), and 2 when the
# first pass found fewer than k. A branch that is not taken is not run (its condition is a constant of the
# statement: PostgreSQL tests it once, before starting the branch).
_MAXSCORE = """
WITH {words},
plan(pos, rfield, rterm, first, reach) AS (
    SELECT * FROM unnest(%(mpos)s::int[], %(mfield)s::smallint[], %(mterm)s::text[], %(mfirst)s::bool[],
                         %(mreach)s::float8[])),
{first},
theta AS (SELECT count(*) AS n, min(score::real)::float8 AS t FROM first_top),
decision AS (
    SELECT CASE WHEN th.n < %(limit)s THEN 2 ELSE (%(decisions)s::int[])[c.cut + 1] END AS d, c.cut
    FROM theta th, LATERAL (SELECT count(*)::int AS cut FROM plan m WHERE m.reach < th.t) c),
{second},
{full},
found AS (
    SELECT * FROM first_top WHERE (SELECT d FROM decision) < 2
    UNION ALL SELECT * FROM second_top WHERE (SELECT d FROM decision) = 1
    UNION ALL SELECT * FROM full_top WHERE (SELECT d FROM decision) = 2),
top AS (SELECT * FROM found ORDER BY score::real DESC, rowid LIMIT %(limit)s)
SELECT t.rowid, t.score, {columns}, (SELECT d FROM decision) FROM top t {passages}
ORDER BY t.score::real DESC, t.rowid
"""

_FIRST_PASS = """
AND p.rowid = ANY(ARRAY(
    SELECT q.rowid FROM plan c JOIN {postings} q ON q.field = c.rfield AND q.term = c.rterm WHERE c.first))
"""

_SECOND_PASS = """
AND p.rowid = ANY(ARRAY(
    SELECT q.rowid FROM plan c JOIN {postings} q ON q.field = c.rfield AND q.term = c.rterm
    WHERE NOT c.first AND c.pos >= (SELECT cut FROM decision)
    EXCEPT
    SELECT q.rowid FROM plan c JOIN {postings} q ON q.field = c.rfield AND q.term = c.rterm WHERE c.first))
"""
# Candidates are scored only where their probes (each word's postings probed once per candidate, at most all
# of them) are this many times fewer than the postings the full query reads: on csc-reports a probe costs
# about what reading a posting does, and a MaxScore search that falls back has spent its first pass.
_PRUNE_RATIO = 1.5
# MaxScore's first pass scores the candidates of the alternatives that can add most, as many as cost at most
# this share of the full query.
_FIRST_SHARE = 3
# Passages are ranked by their score in single precision (as tantivy's), ties by rowid: a bound counts as
# reaching θ this close to it (a few single-precision steps), so a passage it bounds cannot tie with θ.
_BOUND_MARGIN = 1e-6


class PgLexicalIndex(AnalysedTerms):
    """A generation's lexical tables (written by :func:`write_lexical`), searched as :class:`LexicalIndex` is.

    Read-only and shared by threads: each call takes a connection from ``pool``. The passage count
    and each field's average length are read once here (a generation's tables never change).

    :raises IndexNotFoundError: when ``schema`` holds no lexical tables.
    """

    def __init__(self, pool: ConnectionPool | ProcessPool, schema: str,
                 found: Callable[[Iterable[tuple[int, str, str | None]]], None] | None = None) -> None:
        self._pool = pool
        self.schema = schema
        AnalysedTerms.__init__(self)
        # Told each search's passages as (rowid, id, source id): the store then has them without asking again.
        self._found = found
        # Term statistics (document frequency, bound) of this generation, which never change: read once each.
        self._stats: dict[_Atom, tuple[int, float]] = {}
        self._stats_lock = threading.Lock()
        self._chunks = table(schema, "chunks")
        self._postings = table(schema, "lex_postings")
        self._docs = table(schema, "lex_docs")
        self._terms = table(schema, "lex_terms")
        with pool.connection() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".lex_fields',)).fetchone() == (None,):
                raise IndexNotFoundError(f"There is no lexical index in the schema {schema}.")
            stats = {r[0]: (int(r[1]), int(r[2]))
                     for r in conn.execute(sql.SQL("SELECT field, total_tokens, docs FROM {}").format(
                         table(schema, "lex_fields")))}
        self._docs_count = next(iter(stats.values()))[1] if stats else 0
        self._avgdl = [(stats[f][0] / self._docs_count if self._docs_count and f in stats else 0.0) or 1.0
                       for f in range(len(FIELD_NAMES))]
        self.has_byline = True  # always written (an index without bylines has them empty)
        with pool.connection() as conn:
            self._has_passages = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".chunks',)).fetchone() != (None,)
            self._has_bounds = conn.execute(
                "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'bound' "
                "AND NOT attisdropped", (f'"{schema}".lex_terms',)).fetchone() is not None

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
        found = ask(self._pool, self.search_read(plan, top_k, source_ids, exclude_rowids, title_weight, rowids))
        return [(row.rowid, row.score) for row in found]

    def search_read(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None = None,
                    exclude_rowids: Collection[int] = (), title_weight: float | None = None,
                    rowids: Collection[int] | None = None, texts: bool = False,
                    passages: bool = False) -> Read[list[FoundRow]]:
        """:meth:`search` as one statement (:class:`~index.storage.postgres.reads.Read`), its passages with their
        ids and sources, and, when asked, their ``texts`` (text and title) or ``passages`` (text and meta). The
        statistics of its words are read first where they are not known (:meth:`stats_read` sends them ahead)."""
        query = self._query(plan, top_k, source_ids, exclude_rowids, title_weight, rowids, texts, passages)
        if query is None:
            return Read.done([])
        return Read((query.statement(),), lambda rows: self._found_rows(rows[0]))

    def _found_rows(self, rows: list[tuple]) -> list[FoundRow]:
        found = [FoundRow(int(r[0]), _single(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]
        if self._found is not None and self._has_passages:
            self._found((row.rowid, row.id, row.source_id) for row in found if row.id is not None)
        return found

    def prepare(self, plans: Sequence[MatchPlan], terms: Sequence[Term], title_weight: float | None = None) -> None:
        """Read, in one statement, the statistics the searches of ``plans`` and the word counts of ``terms``
        (:meth:`word_document_counts`) will need, so that none of them asks for its own."""
        read = self.stats_read(plans, terms, title_weight)
        if read is not None:
            ask(self._pool, read)

    def stats_read(self, plans: Sequence[MatchPlan], terms: Sequence[Term],
                   title_weight: float | None = None) -> Read[None] | None:
        """:meth:`prepare`'s statement, for the statistics not known yet; None when all are."""
        weight = TITLE_SCALE * (DEFAULT_TITLE_WEIGHT if title_weight is None else float(title_weight))
        atoms = {a for plan in plans for alt in (self._compile(plan, weight) or ()) for a in alt.atoms}
        atoms |= {_Atom(f, token) for term in terms for token in self.analyze(term) for f in (CONTENT, TITLE, BYLINE)}
        with self._stats_lock:
            wanted = sorted((a for a in atoms if a not in self._stats), key=lambda a: (a.field, a.term))
        return self._stats_read(wanted).then(lambda _: None) if wanted else None

    def _stats_read(self, wanted: list[_Atom]) -> Read[dict[_Atom, tuple[int, float]]]:
        """The statistics of ``wanted``, kept (a term no passage holds: df 0)."""
        bound = sql.SQL("t.bound" if self._has_bounds else "1.0::float8")
        statement = sql.SQL(
            "SELECT t.field, t.term, t.df, {} FROM unnest(%s::smallint[], %s::text[]) AS q(field, term) "
            "JOIN {} t ON t.field = q.field AND t.term = q.term").format(bound, self._terms)

        def keep(rows: list[list[tuple]]) -> dict[_Atom, tuple[int, float]]:
            fetched = {a: (0, 0.0) for a in wanted}
            fetched.update({_Atom(int(f), t): (int(df), float(b)) for f, t, df, b in rows[0]})
            with self._stats_lock:
                if len(self._stats) > _STATS_KEPT:
                    self._stats.clear()
                self._stats.update(fetched)
            return fetched

        return Read(((statement, ([a.field for a in wanted], [a.term for a in wanted])),), keep)

    def _search_full(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None = None,
                     exclude_rowids: Collection[int] = (), title_weight: float | None = None,
                     rowids: Collection[int] | None = None) -> list[tuple[int, float]]:
        """:meth:`search` without pruning: every posting of every word scored (the reference the tests
        compare the pruned plans with)."""
        query = self._query(plan, top_k, source_ids, exclude_rowids, title_weight, rowids)
        if query is None:
            return []
        found = ask(self._pool, Read((query.full(),), lambda rows: self._found_rows(rows[0])))
        return [(row.rowid, row.score) for row in found]

    def _query(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None,
               exclude_rowids: Collection[int], title_weight: float | None,
               rowids: Collection[int] | None, texts: bool = False, passages: bool = False) -> _Query | None:
        """The search's SQL; None when it cannot find anything."""
        if top_k <= 0 or (source_ids is not None and not source_ids) or (rowids is not None and not rowids):
            return None
        weight = TITLE_SCALE * (DEFAULT_TITLE_WEIGHT if title_weight is None else float(title_weight))
        alternatives = self._compile(plan, weight)
        if alternatives is None:
            return None
        stats = self._term_stats({a for alt in alternatives for a in alt.atoms})
        return _Query(self, plan, alternatives, stats, top_k, source_ids, exclude_rowids, rowids, texts, passages)

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
                found += [(_Atom(PAIRS_OF[field], pair),) for pair in token_pairs(tokens)]
            else:
                found.append(tuple(_Atom(PAIRS_OF[field], pair) for pair in token_pairs(tokens)))
        return found

    def _dfs(self, atoms: Iterable[_Atom]) -> dict[_Atom, int]:
        return {atom: df for atom, (df, _) in self._term_stats(atoms).items()}

    def _term_stats(self, atoms: Iterable[_Atom]) -> dict[_Atom, tuple[int, float]]:
        """Each atom's document frequency and bound (its largest normalised tf; 1, which no tf part
        reaches, where the tables predate the bound column), of those some passage holds."""
        asked = set(atoms)
        with self._stats_lock:
            known = {a: self._stats[a] for a in asked if a in self._stats}
        wanted = sorted(asked - set(known), key=lambda a: (a.field, a.term))
        if wanted:
            fetched: dict[_Atom, tuple[int, float]] = ask(self._pool, self._stats_read(wanted))
            known.update(fetched)
        return {a: s for a, s in known.items() if s[0]}

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
                if all(any(holds(text, w) for w in clause for text in texts) for clause in wanted)}

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
                pairs = sorted(set(token_pairs(tokens)))
                rows = conn.execute(sql.SQL(
                    "SELECT d.source_id, d.content, d.title FROM {docs} d WHERE d.source_id = ANY(%s::text[]) AND "
                    "d.rowid IN (SELECT p.rowid FROM {postings} p WHERE p.field = ANY(%s::smallint[]) "
                    "AND p.term = ANY(%s::text[]) GROUP BY p.rowid, p.field HAVING count(*) = %s)"
                ).format(docs=self._docs, postings=self._postings),
                    (list(among), [CONTENT_PAIRS, TITLE_PAIRS], pairs, len(pairs)))
                found |= {source for source, content, title in rows
                          if source not in found and (holds(content.split(), tokens) or holds(title.split(), tokens))}
        return found

    def source_counts(self, terms: Sequence[Term]) -> list[dict[str, int]]:
        """For each word or phrase, every source holding it in a passage's text, title or byline, with how many of
        its passages do, as :meth:`LexicalIndex.source_counts` (:meth:`source_counts_read`: one round trip)."""
        return ask(self._pool, self.source_counts_read(terms))

    def source_counts_read(self, terms: Sequence[Term]) -> Read[list[dict[str, int]]]:
        """:meth:`source_counts` as statements: the words from their postings grouped by term and source in one;
        the phrases' candidates (passages holding all of a phrase's pairs) in another, checked on their tokens."""
        fields = [CONTENT, TITLE] + ([BYLINE] if self.has_byline else [])
        pair_fields = [CONTENT_PAIRS, TITLE_PAIRS] + ([BYLINE_PAIRS] if self.has_byline else [])
        analysed = [self.analyze(t) for t in terms]
        words = sorted({tokens[0] for tokens in analysed if len(tokens) == 1})
        phrases = [tokens for tokens in analysed if len(tokens) > 1]
        statements: list[tuple[Any, Any]] = []
        if words:
            statements.append((sql.SQL(
                "SELECT p.term, d.source_id, count(DISTINCT p.rowid) FROM {} p JOIN {} d ON d.rowid = p.rowid "
                "WHERE p.field = ANY(%s::smallint[]) AND p.term = ANY(%s::text[]) GROUP BY p.term, d.source_id"
            ).format(self._postings, self._docs), (fields, words)))
        if phrases:
            numbers, wanted, need = [], [], []
            for number, tokens in enumerate(phrases):
                pairs = sorted(set(token_pairs(tokens)))
                numbers += [number] * len(pairs)
                wanted += pairs
                need += [len(pairs)] * len(pairs)
            statements.append((sql.SQL(
                "WITH wanted(no, term, need) AS (SELECT * FROM unnest(%s::int[], %s::text[], %s::int[])), "
                "m AS (SELECT w.no, p.rowid, p.field FROM wanted w JOIN {postings} p ON p.term = w.term "
                "AND p.field = ANY(%s::smallint[]) GROUP BY w.no, w.need, p.rowid, p.field "
                "HAVING count(*) = w.need) "
                "SELECT m.no, d.source_id, d.content, d.title, d.rowid, bool_or(m.field = %s) FROM m "
                "JOIN {docs} d ON d.rowid = m.rowid GROUP BY m.no, d.source_id, d.content, d.title, d.rowid"
            ).format(docs=self._docs, postings=self._postings), (numbers, wanted, need, pair_fields, BYLINE_PAIRS)))

        def answer(rows: list[list[tuple]]) -> list[dict[str, int]]:
            by_word: dict[str, dict[str, int]] = {w: {} for w in words}
            for term, source, n in (rows[0] if words else ()):
                by_word[term][source] = int(n)
            by_phrase: dict[int, dict[str, int]] = {n: {} for n in range(len(phrases))}
            seen: set[tuple[int, int]] = set()
            for number, source, content, title, rowid, in_byline in (rows[-1] if phrases else ()):
                tokens = phrases[number]
                # A byline is a few words: holding every pair of a phrase there is holding the phrase.
                if (number, rowid) not in seen and (in_byline or holds(content.split(), tokens)
                                                    or holds(title.split(), tokens)):
                    seen.add((number, rowid))
                    by_phrase[number][source] = by_phrase[number].get(source, 0) + 1
            out: list[dict[str, int]] = []
            at = 0
            for tokens in analysed:
                if not tokens:
                    out.append({})
                elif len(tokens) == 1:
                    out.append(dict(by_word[tokens[0]]))
                else:
                    out.append(by_phrase[at])
                    at += 1
            return out

        return Read(tuple(statements), answer)

    # -- statistics and tokens ------------------------------------------------------------------

    def document_frequencies(self, terms: Sequence[Term]) -> list[int]:
        """How many passages hold each word (in the text, plus in the title; a phrase: its rarest adjacent
        pair, at least as many as hold the phrase), as :meth:`LexicalIndex.document_frequencies`."""
        analysed = [self.analyze(t) for t in terms]
        atoms = [_Atom(f, tokens[0]) for tokens in analysed if len(tokens) == 1 for f in (CONTENT, TITLE)]
        atoms += [_Atom(f, p) for tokens in analysed if len(tokens) > 1 for p in token_pairs(tokens)
                  for f in (CONTENT_PAIRS, TITLE_PAIRS)]
        dfs = self._dfs(atoms)
        counts = []
        for tokens in analysed:
            if len(tokens) == 1:
                counts.append(sum(dfs.get(_Atom(f, tokens[0]), 0) for f in (CONTENT, TITLE)))
            elif tokens:
                counts.append(min(sum(dfs.get(_Atom(f, p), 0) for f in (CONTENT_PAIRS, TITLE_PAIRS))
                                  for p in token_pairs(tokens)))
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



class _Query:
    """One search's SQL: its words' weights, its filters, and which passages it scores (every passage holding a
    word, or candidates that provably hold the whole top k), as one statement (:meth:`statement`).

    The candidates are the passages holding the rarest atom of some alternatives (a passage matching an
    alternative holds all its atoms). Scoring them is the same SQL with ``rowid = ANY(candidates)``, which
    PostgreSQL answers with probes in each word's index range rather than by reading it whole: a common
    word's thousands of postings cost a lookup per candidate. Results are those of the full query (the
    same rows, order and scores), by the two arguments of :meth:`statement`.

    :param texts: return each passage's text and title (for the proximity check), ``passages`` its text and meta.
    """

    def __init__(self, index: PgLexicalIndex, plan: MatchPlan, alternatives: list[_Alternative],
                 stats: Mapping[_Atom, tuple[int, float]], top_k: int, source_ids: Collection[str] | None,
                 exclude_rowids: Collection[int], rowids: Collection[int] | None, texts: bool = False,
                 passages: bool = False) -> None:
        self.alternatives = alternatives
        self.top_k = top_k
        self.needed = len(plan.clauses)
        self.long = bool(plan.weights)  # a pasted paragraph's words: many, and few of them rare
        self.kind = "full"  # how :meth:`statement` searches: "full", "driving" (strict) or "maxscore" (relaxed)
        total = index._docs_count
        params: dict[str, Any] = {"alt": [], "field": [], "term": [], "w": [], "avgdl": []}
        self.rarest: list[_Atom] = []  # per alternative: its atom with the fewest passages
        self.rare_df: list[int] = []  # that atom's passages (0: the alternative matches nothing)
        self.bounds: list[float] = []  # the most the alternative adds to a passage's score
        self.atom_dfs: list[int] = []  # per atom of the query: its passages
        for number, alt in enumerate(alternatives):
            bound = 0.0
            for atom in alt.atoms:
                df, atom_bound = stats.get(atom, (0, 0.0))
                w = alt.boost * (1 + K1) * math.log(1 + (total - df + 0.5) / (df + 0.5))
                params["alt"].append(number)
                params["field"].append(atom.field)
                params["term"].append(atom.term)
                params["w"].append(w)
                params["avgdl"].append(index._avgdl[atom.field])
                bound += w * atom_bound
                self.atom_dfs.append(df)
            rarest = min(alt.atoms, key=lambda a: stats.get(a, (0, 0.0))[0])
            self.rarest.append(rarest)
            self.rare_df.append(stats.get(rarest, (0, 0.0))[0])
            self.bounds.append(bound if self.rare_df[-1] else 0.0)
        params.update(alts=list(range(len(alternatives))), clauses=[a.clause for a in alternatives],
                      sizes=[len(a.atoms) for a in alternatives], needed=self.needed,
                      excluded=[int(r) for r in exclude_rowids], limit=top_k)
        # Constants typed float8, not numeric: the same values (k1 * dl is exact either way) without numeric
        # arithmetic per posting. A passage's matched clauses as bits, not count(DISTINCT), which sorts.
        with_passages = index._has_passages  # (a schema of lexical tables alone, in tests, has no passages table)
        columns = [
            "c.id, c.source_id" if with_passages else "NULL, NULL",
            "c.content" if with_passages and (texts or passages) else "NULL",
            "c.title" if with_passages and texts else "NULL",
            "c.meta::text" if with_passages and passages else "NULL"]
        parts: dict[str, sql.Composable] = {
            "postings": index._postings,
            "columns": sql.SQL(", ".join(columns)),
            "passages": (sql.SQL("JOIN {} c ON c.rowid = t.rowid").format(index._chunks) if with_passages
                         else sql.SQL("")),
            "within": sql.SQL(""), "sources": sql.SQL(""), "exclusions": sql.SQL(""),
            "k1": sql.SQL("{}::float8").format(sql.Literal(K1)), "b": sql.SQL("{}::float8").format(sql.Literal(B)),
            "clauses": sql.SQL("bit_or(1::bigint << l.clause)")}
        if self.needed < 63:
            params["needed"] = (1 << self.needed) - 1
        else:
            parts["clauses"] = sql.SQL("count(DISTINCT l.clause)")
        if rowids is not None:
            parts["within"] = sql.SQL("AND p.rowid = ANY(%(rowids)s::bigint[])")
            params["rowids"] = [int(r) for r in rowids]
        if source_ids is not None:
            parts["sources"] = sql.SQL("JOIN {} d ON d.rowid = m.rowid AND d.source_id = ANY(%(sources)s::text[])"
                                       ).format(index._docs)
            params["sources"] = list(source_ids)
        exclusions = [_Alternative(0, atoms, 1.0) for t in plan.exclusions
                      for atoms in index._term_atoms(t, (CONTENT, TITLE), False)]
        if exclusions:
            parts["exclusions"] = sql.SQL(_EXCLUSIONS).format(postings=index._postings)
            params.update(xalt=[n for n, x in enumerate(exclusions) for _ in x.atoms],
                          xfield=[a.field for x in exclusions for a in x.atoms],
                          xterm=[a.term for x in exclusions for a in x.atoms],
                          xsize=[len(x.atoms) for x in exclusions for _ in x.atoms])
        self.params, self.parts = params, parts
        self.postings = sum(self.atom_dfs)  # what the full query reads

    def _worth(self, among: Iterable[int]) -> bool:
        """Whether scoring only the candidates of ``among`` costs clearly less
        than the full query: each word's postings are probed for at most that many candidates (measured on
        csc-reports: a probe costs about what a posting read does)."""
        return self._probes(among) * _PRUNE_RATIO <= self.postings

    def _probes(self, among: Iterable[int]) -> int:
        candidates = self._candidates(among)
        return sum(min(df, candidates) for df in self.atom_dfs) + candidates

    def _top(self, name: str, among: str = "") -> sql.Composable:
        """The ``_TOP`` CTE named ``name``, its passages limited by the filters and ``among`` (a candidates clause)."""
        return sql.SQL(_TOP.replace("NAME", name)).format(
            among=sql.SQL(among).format(postings=self.parts["postings"]), **self.parts)

    def full(self) -> tuple[sql.Composable, dict[str, Any]]:
        """The top k of every passage holding a word: the reference the pruned statements equal."""
        return self._search(self._top("top")), self.params

    def _search(self, top: sql.Composable) -> sql.Composable:
        return sql.SQL(_SEARCH).format(words=sql.SQL(_WORDS), top=top, **self.parts)

    def statement(self) -> tuple[sql.Composable, dict[str, Any]]:
        """The search as one statement: from candidates only where that is sure to be cheaper and provably
        exact, else every passage holding a word (:meth:`full`).

        - Several clauses (every one must match): a match holds an alternative of the clause whose
          alternatives are the rarest, so that clause's passages are the candidates (``kind`` "driving").
        - One clause (any of its alternatives): MaxScore (``kind`` "maxscore"). The candidates of the
          alternatives that can add most are scored first; their k-th best score θ is at most the true k-th
          best. The alternatives whose bounds sum to less than θ cannot alone bring a passage into the top k,
          so the passages holding any other alternative are all the candidates there are; where those are not
          the ones already scored, they are scored with them (θ can only rise). θ is known only once the first
          pass has run, so the statement carries, for every θ, what to do next (``_MAXSCORE``): each choice
          is the one the cost rules make for the alternatives that θ leaves.
        """
        live = [i for i, df in enumerate(self.rare_df) if df]
        if not live:
            return self.full()
        if self.needed > 1:
            clauses: dict[int, list[int]] = {}
            for i, alt in enumerate(self.alternatives):
                clauses.setdefault(alt.clause, []).append(i)
            driving = min(clauses.values(), key=self._candidates)
            if not self._worth(driving):
                return self.full()
            atoms = sorted({self.rarest[i] for i in driving}, key=lambda a: (a.field, a.term))
            self.kind = "driving"
            return (self._search(self._top("top", _DRIVING)),
                    {**self.params, "cfield": [a.field for a in atoms], "cterm": [a.term for a in atoms]})
        if self.long:  # its many words' bounds add up past any θ (arguana: every proof failed, 40% slower)
            return self.full()
        order = sorted(live, key=lambda i: -self.bounds[i])
        first = order[:1]
        if not self._worth(first):
            return self.full()
        for i in order[1:]:  # the more candidates the first pass scores, the higher θ (within its share)
            if self._probes([*first, i]) * _FIRST_SHARE > self.postings:
                break
            first.append(i)
        rising = sorted(live, key=lambda i: self.bounds[i])  # stable: ties in the alternatives' order
        reach, spare = [], 0.0
        for i in rising:
            spare += self.bounds[i]
            reach.append(spare * (1 + _BOUND_MARGIN))
        # For each cut (how many of the rising alternatives fall short of θ): the essential ones not yet scored.
        decisions = []
        for cut in range(len(rising) + 1):
            more = sorted(set(rising[cut:]) - set(first))
            decisions.append(0 if not more else 1 if self._worth(more) else 2)
        self.kind = "maxscore"
        params = {**self.params, "mpos": list(range(len(rising))),
                  "mfield": [self.rarest[i].field for i in rising], "mterm": [self.rarest[i].term for i in rising],
                  "mfirst": [i in first for i in rising], "mreach": reach, "decisions": decisions}
        return sql.SQL(_MAXSCORE).format(
            words=sql.SQL(_WORDS), first=self._top("first_top", _FIRST_PASS),
            second=self._top("second_top", _SECOND_PASS), full=self._top("full_top"), **self.parts), params

    def _candidates(self, among: Iterable[int]) -> int:
        """At most how many passages hold the rarest atom of one of these alternatives."""
        return sum(self.rare_df[i] for i in {self.rarest[i]: i for i in among}.values())


def _field_boost(field: int, title_weight: float) -> float:
    if field in (BYLINE, BYLINE_PAIRS):
        return title_weight * BYLINE_SCALE
    return title_weight if field in (TITLE, TITLE_PAIRS) else 1.0



def _single(score: float) -> float:
    """A score in single precision, as tantivy computes and reports it: the searcher's scores then round
    alike downstream (``kb eval``'s run files hold them to 6 decimals, which trec_eval reads as floats)."""
    return float(struct.unpack("f", struct.pack("f", score))[0])
