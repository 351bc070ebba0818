"""Writing a generation's lexical tables in PostgreSQL: tantivy's model, analysed in Python, loaded with COPY.

The tables and the model are described in :mod:`index.storage.postgres.lexical_search`, which searches them.
Field codes, the BM25 constants and tantivy's field-length rounding are declared here, where the rows are
made, and read there.

Usage::

    with pool.connection() as conn:                 # the generation's writer, inside its transaction
        write_lexical(conn, gen_schema(gen_id), store.lexical_rows())
"""

from __future__ import annotations

import re
import tempfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping

import psycopg
from psycopg import sql

from index.storage.analysis import TITLE_IN_TEXT, analyzer, token_pairs
from index.storage.contract import LexicalRow

# Field codes, as stored (names as in index/lexical.py's tantivy schema).
CONTENT, TITLE, BYLINE, CONTENT_PAIRS, TITLE_PAIRS, BYLINE_PAIRS = range(6)
FIELD_NAMES = ("content", "title", "byline", "content_pairs", "title_pairs", "byline_pairs")
PAIRS_OF = {CONTENT: CONTENT_PAIRS, TITLE: TITLE_PAIRS, BYLINE: BYLINE_PAIRS}
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


def fieldnorm(length: int) -> int:
    """A field's length as tantivy's BM25 reads it (rounded down to its one-byte code's value)."""
    return _FIELDNORMS[bisect_right(_FIELDNORMS, length) - 1]


def _copy_text(value: str) -> str:
    if not _COPY_SPECIAL.search(value):
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")



def table(schema: str, name: str) -> sql.Composed:
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
    names = _names(schema)
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
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(names["fields"]),
                        [(f, FIELD_NAMES[f], totals[f], count) for f in range(len(FIELD_NAMES))])
    _finish(conn, names)
    return count


def copy_lexical(conn: psycopg.Connection, schema: str, base_schema: str) -> None:
    """Create ``schema``'s lexical tables as copies of the published ``base_schema``'s postings and passages, with
    the postings' index: the first half of deriving a generation's lexical tables inside the database (it may run
    while the build is still being made); :func:`change_lexical` is the second. Not committed.
    """
    names, base = _names(schema), _names(base_schema)
    conn.execute(sql.SQL(_DDL).format(**names))
    # In the live table's order, which is passage order (rows are written passage by passage, new passages
    # last): a changed passage's postings then sit together, and deleting them later touches few pages.
    for name, columns in (("postings", "field, term, rowid, tf, dl"), ("docs", "rowid, source_id, content, title")):
        conn.execute(sql.SQL("INSERT INTO {new} ({cols}) SELECT {cols} FROM {old}").format(
            new=names[name], old=base[name], cols=sql.SQL(columns)))
    conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = '1GB'"))
    _postings_index(conn, names)


def change_lexical(conn: psycopg.Connection, schema: str, base_schema: str, dropped: str,
                   dropped_rows: Iterable[LexicalRow], rows: Iterable[LexicalRow]) -> tuple[int, int]:
    """The second half of deriving lexical tables (:func:`copy_lexical`): the passages whose rowids the table
    ``dropped`` (one column, ``rowid``) names go (``dropped_rows``: those passages as the base generation holds
    them), ``rows`` are analysed and sent, and what depends on every passage is brought up to date: the fields'
    totals (the base's, less the dropped passages', plus the sent ones': whole numbers, so exactly what counting
    every passage gives) and the terms' statistics (from the postings). The result is the tables
    :func:`write_lexical` writes for the whole generation.

    :returns: how many passages the tables hold, and how many of them were sent (``rows``).
    """
    names, base = _names(schema), _names(base_schema)
    drop = sql.Identifier(dropped)
    for name in ("postings", "docs"):
        conn.execute(sql.SQL("DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {drop})").format(
            t=names[name], drop=drop))
    sent, added = _copy_rows(conn, names, rows, freeze=False)
    gone, removed = lexical_totals(dropped_rows)
    before = {int(f): (int(t), int(d)) for f, t, d in conn.execute(
        sql.SQL("SELECT field, total_tokens, docs FROM {}").format(base["fields"])).fetchall()}
    docs = (before[CONTENT][1] if CONTENT in before else 0) - gone + sent
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(names["fields"]),
                        [(f, FIELD_NAMES[f], before.get(f, (0, 0))[0] - removed[f] + added[f], docs)
                         for f in range(len(FIELD_NAMES))])
    _finish(conn, names, postings_index=False)
    return docs, sent


def lexical_totals(rows: Iterable[LexicalRow]) -> tuple[int, list[int]]:
    """How many passages ``rows`` are and each field's token total, counted as :func:`write_lexical` counts."""
    text_analyzer = analyzer()
    totals = [0] * len(FIELD_NAMES)
    count = 0
    for row in rows:
        title_tokens = text_analyzer.analyze(row.title or "")
        content_tokens = text_analyzer.analyze(row.content or "")
        if TITLE_IN_TEXT and title_tokens:
            content_tokens = title_tokens + content_tokens
        byline_tokens = text_analyzer.analyze(row.byline) if row.byline else []
        for field, tokens in ((CONTENT, content_tokens), (TITLE, title_tokens), (BYLINE, byline_tokens)):
            totals[field] += len(tokens)
            totals[PAIRS_OF[field]] += len(token_pairs(tokens))
        count += 1
    return count, totals


def _names(schema: str) -> dict[str, sql.Composed]:
    return {n: table(schema, f"lex_{n}") for n in ("postings", "docs", "fields", "terms")}


def _postings_index(conn: psycopg.Connection, names: Mapping[str, sql.Composed]) -> None:
    conn.execute(sql.SQL("CREATE INDEX {} ON {} (field, term, rowid) INCLUDE (tf, dl)")
                 .format(sql.Identifier("lex_postings_term"), names["postings"]))


def _finish(conn: psycopg.Connection, names: Mapping[str, sql.Composed], postings_index: bool = True) -> None:
    """The indexes and the terms' statistics of filled postings and fields tables."""
    if postings_index:
        # Sorting the postings for their index is most of the build's time in PostgreSQL: in memory, not in
        # runs on disk (the default 64 MB); for this transaction only.
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        _postings_index(conn, names)
    conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} (rowid)").format(sql.Identifier("lex_docs_rowid"),
                                                                        names["docs"]))
    conn.execute(sql.SQL("CREATE INDEX {} ON {} (source_id)").format(sql.Identifier("lex_docs_source"),
                                                                     names["docs"]))
    # A term's bound: its largest normalised tf (BM25's tf part without the idf, avgdl from the field's
    # totals as PgLexicalIndex reads them), for proving that passages holding only common words cannot
    # reach a top k (PgLexicalIndex.search).
    conn.execute(sql.SQL(
        "CREATE TABLE {terms} AS SELECT p.field, p.term, count(*)::bigint AS df, "
        "max(p.tf / (p.tf + {k1} * (1 - {b} + {b} * p.dl / f.avgdl)))::float8 AS bound "
        "FROM {postings} p JOIN (SELECT field, coalesce(nullif(total_tokens::float8 / nullif(docs, 0), 0), 1) "
        "AS avgdl FROM {fields}) f ON f.field = p.field GROUP BY p.field, p.term"
    ).format(terms=names["terms"], postings=names["postings"], fields=names["fields"], k1=sql.Literal(K1),
             b=sql.Literal(B)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (field, term)").format(names["terms"]))
    for name in ("postings", "docs", "terms", "fields"):
        conn.execute(sql.SQL("ANALYZE {}").format(names[name]))


LEXICAL_TABLES = ("lex_postings", "lex_docs", "lex_terms", "lex_fields")


def _copy_rows(conn: psycopg.Connection, names: Mapping[str, sql.Composed], rows: Iterable[LexicalRow],
               freeze: bool) -> tuple[int, list[int]]:
    """COPY the postings while the passages' own rows wait in a temporary file (one COPY at a time per
    connection, and ``rows`` may be read once); returns the passage count and each field's token total."""
    option = sql.SQL(" WITH (FREEZE)" if freeze else "")
    text_analyzer = analyzer()
    totals = [0] * len(FIELD_NAMES)
    count = 0
    cache: dict[str, list[str]] = {}  # a source's passages share its title and byline: analyse each once

    def analysed(text: str) -> list[str]:
        nonlocal cache
        found = cache.get(text)
        if found is None:
            cache = cache if len(cache) < 10_000 else {}
            found = cache[text] = text_analyzer.analyze(text)
        return found

    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool, conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY {} (field, term, rowid, tf, dl) FROM STDIN{}").format(
                names["postings"], option)) as copy:
            lines: list[str] = []
            for row in rows:
                title_tokens = analysed(row.title or "")
                content_tokens = text_analyzer.analyze(row.content or "")
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
                    for code, terms in ((field, tokens), (PAIRS_OF[field], token_pairs(tokens))):
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


