"""``kb``: ingest, search, serve and inspect the innovation-kb index.

Every domain error (:class:`index.errors.KBError`) becomes one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from index import offline  # noqa: F401  (before any Haystack or Hugging Face import)
from index.errors import KBError, LockHeldError, SettingsError
from index.settings import Settings, load_settings

logger = logging.getLogger("kb")

# Exit statuses: 1 = error, nothing done; 3 = published, but some files failed; 4 = the quality gate
# refused the new generation;
# 75 (EX_TEMPFAIL) = another writer holds the lock, try again later.
EXIT_PARTIAL = 3
EXIT_GATE = 4
EXIT_LOCKED = 75


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(ctx.obj.get("config"), overrides=overrides)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("haystack", "sentence_transformers", "transformers", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), default=None, envvar="KB_CONFIG",
              help="TOML file of settings (see docs/settings.md).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="innovation-kb")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int) -> None:
    """innovation-kb: search the evidence on innovation in children's social care."""
    _configure_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@contextlib.contextmanager
def _writer_errors(ctx: click.Context, as_json: bool = False) -> Iterator[None]:
    """Map the errors of a run that writes the index to a message and its exit status."""
    from ingest.gate import GateFailedError

    try:
        yield
    except GateFailedError as exc:
        click.echo(f"Error: {exc}", err=True)
        if as_json and exc.report is not None:
            click.echo(json.dumps(exc.report.to_dict(), ensure_ascii=False))
        ctx.exit(EXIT_GATE)
    except LockHeldError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_LOCKED)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None


def _echo_failures(failures: list[Any]) -> None:
    for failure in failures:
        click.echo(f"skipped {failure.path}: {failure.reason}; {failure.action}.", err=True)


allow_removals_option = click.option(
    "--allow-removals", is_flag=True,
    help="Publish even if the new index loses more of the live sources than gate_max_removed_share allows "
         "(the removal is intended).")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               help="Index data directory (setting data_dir, default ./data).")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@data_dir_option
@click.option("--replace", is_flag=True, help="Index only PATHS; drop sources of the live index not among them.")
@click.option("--format", "force_format", default=None, metavar="NAME",
              help="Read every file as this format instead of detecting it (beir: a BEIR corpus.jsonl, each "
                   "record a source whose document id is its _id).")
@allow_removals_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], data_dir: str | None, replace: bool,
           force_format: str | None, allow_removals: bool, quiet: bool) -> None:
    """Convert, clean, split and embed the files under PATHS into a new index generation, then publish it.

    Sources already indexed and not under PATHS are kept (unless --replace). Files that cannot be
    read are listed with the reason; the rest are indexed and the exit status is 3.
    """
    settings = _settings(ctx, data_dir=data_dir, gate_max_removed_share=1.0 if allow_removals else None)
    from ingest.run import run_ingest

    with _writer_errors(ctx):
        report = run_ingest(paths, settings, progress=not quiet, replace=replace, force_format=force_format)
    _echo_failures(report.failures)
    click.echo(report.summary())
    if report.failures:
        ctx.exit(EXIT_PARTIAL)


@cli.command()
@click.argument("paths", nargs=-1)
@data_dir_option
@click.option("--full", is_flag=True, help="Process every file again (unchanged ones too).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as one JSON line (last line of stdout).")
@allow_removals_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def reindex(ctx: click.Context, paths: tuple[str, ...], data_dir: str | None, full: bool, as_json: bool,
            allow_removals: bool, quiet: bool) -> None:
    """Re-index PATHS (default: the `sources` setting): only new and changed files are processed,
    removed files disappear, unchanged ones keep their passages and vectors. Publishes nothing when
    nothing changed. Exit 0 ok, 3 some files failed, 4 the quality gate refused the new index, 75 another
    run holds the lock, 1 error."""
    settings = _settings(ctx, data_dir=data_dir, gate_max_removed_share=1.0 if allow_removals else None)
    from ingest.reindex import run_reindex

    with _writer_errors(ctx, as_json):
        report = run_reindex(list(paths) or None, settings, full=full, progress=not (quiet or as_json))
    _echo_failures(report.failures)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(report.summary())
    if report.failed:
        ctx.exit(EXIT_PARTIAL)


@cli.command()
@click.option("--sources", "sources_file", type=click.Path(dir_okay=False), default=None,
              help="The sources file: feeds, sitemaps and listing pages (setting harvest_sources, default "
                   "sources.yaml; format in docs/harvest.md).")
@click.option("--mirror", type=click.Path(file_okay=False), default=None,
              help="Folder the copies are kept in, one folder per source (setting harvest_mirror, default mirror).")
@click.option("--check", is_flag=True, help="Check the sources file, print what it lists, and fetch nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as one JSON line (last line of stdout).")
@click.pass_context
def harvest(ctx: click.Context, sources_file: str | None, mirror: str | None, check: bool, as_json: bool) -> None:
    """Fetch what is new or changed at the sources (RSS, Atom and JSON feeds, sitemaps, listing pages) into the
    mirror folder, politely (robots.txt, one request at a time per host, conditional requests); then `kb reindex
    MIRROR` indexes it. A page the publisher removed keeps its copy, marked as gone. Exit 0 ok, 3 some source or
    item failed (the rest was harvested), 75 another harvest is writing the mirror, 1 error."""
    settings = _settings(ctx, harvest_sources=sources_file, harvest_mirror=mirror)
    from ingest.harvest.run import run_harvest
    from ingest.harvest.sources import load_sources

    with _writer_errors(ctx):
        specs = load_sources(settings.harvest_sources)
        if check:
            for spec in specs:
                click.echo(f"{spec.name}: {spec.kind} {spec.url} → {Path(settings.harvest_mirror) / spec.folder}")
            click.echo(f"{settings.harvest_sources}: {len(specs)} sources, all valid.")
            return
        report = run_harvest(specs, settings.harvest_mirror, settings)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(report.summary())
    if not report.ok:
        ctx.exit(EXIT_PARTIAL)


@cli.command()
@click.argument("query", required=False)
@data_dir_option
@click.option("--top-k", type=click.IntRange(1, 1000), default=None,
              help="Sources per page (setting top_k); with --queries, sources per query (default 100).")
@click.option("--page", type=click.IntRange(1, None), default=1, show_default=True, help="Results page.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="Best first, or the same sources newest first (undated last).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON contract (same as /api/search).")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False), default=None,
              help="Search every query of a BEIR queries.jsonl ({\"_id\", \"text\"} per line) instead of QUERY.")
@click.option("--run", "run_file", type=click.Path(dir_okay=False), default=None,
              help="With --queries: the TREC run file to write (qid Q0 docid rank score tag).")
@click.option("--tag", default="innovation-kb", show_default=True, help="Run tag (last column of the run file).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (with --queries).")
@click.pass_context
def search(ctx: click.Context, query: str | None, data_dir: str | None, top_k: int | None, page: int, sort: str,
           as_json: bool, queries_file: str | None, run_file: str | None, tag: str, quiet: bool) -> None:
    """Search the index: words, "quoted phrases", -exclusions, OR.

    With --queries FILE --run RUN, search every query in FILE and write a TREC run file, one line
    per ranked source, documents named by their ids (a BEIR record's _id).
    """
    settings = _settings(ctx, data_dir=data_dir)
    if (query is None) == (queries_file is None):
        raise click.UsageError("Give either a QUERY or --queries FILE (with --run RUN).")
    if queries_file is not None:
        if run_file is None:
            raise click.UsageError("--queries needs --run RUN, the run file to write.")
        _batch_search(settings, queries_file, run_file, top_k or 100, tag, progress=not quiet)
        return
    from index.search.highlight import CLOSE, OPEN
    from index.search.searcher import Searcher
    from index.storage import open_generation

    try:
        response = Searcher(settings, open_generation(settings)).search(query or "", top_k=top_k, page=page,
                                                                        sort=sort)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(response.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{response.total} sources for {response.query!r} (page {response.page} of {response.pages}, "
               f"{response.took_ms:.0f} ms)")
    if response.missing_words:  # issue 14: say which words no source holds, and what to try instead
        click.echo(f"No source contains: {', '.join(response.missing_words)}")
    for suggestion in response.suggestions:
        click.echo(f"Did you mean: {suggestion.query}?" if suggestion.kind == "spelling"
                   else f"Related search: {suggestion.query}")
    for rank, result in enumerate(response.results, start=(page - 1) * response.top_k + 1):
        details = " · ".join(x for x in (result.publisher, result.type, result.date) if x)
        click.echo(f"\n{rank}. {click.style(result.title, bold=True)}\n   {details}\n   {result.source}")
        for passage in result.passages[:1]:
            marked = _terminal_excerpt(passage.text, passage.highlighted)
            click.echo(f"   “{marked.replace(OPEN, '').replace(CLOSE, '')}”")
            if passage.page:
                click.echo(f"   p. {passage.page}")
            if passage.citation:
                cite = passage.citation
                when = (cite.get("date") or "")[:10]
                click.echo(f"   {cite.get('author') or 'unknown'}, {when} {cite.get('url') or ''}")


def _batch_search(settings: Settings, queries_file: str, run_file: str, depth: int, tag: str, progress: bool) -> None:
    from index.evaluation import read_queries, run_queries, write_run
    from index.search.searcher import Searcher
    from index.storage import open_generation

    try:
        queries = read_queries(queries_file)
        searcher = Searcher(settings, open_generation(settings))
        run, failed = run_queries(searcher, queries, depth, progress=progress)
        lines = write_run(run, run_file, tag)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    for qid, reason in failed.items():
        click.echo(f"skipped query {qid}: {reason}", err=True)
    click.echo(f"{len(run)} queries searched, {lines} lines written to {run_file}"
               + (f"; {len(failed)} queries skipped" if failed else ""))


@cli.command("eval")
@click.argument("dataset", type=click.Path(file_okay=False))
@data_dir_option
@click.option("--split", default="test", show_default=True, help="Which qrels/SPLIT.tsv to score against.")
@click.option("--methods", default="lexical,dense,production", show_default=True,
              help="Comma-separated: lexical, dense, rrf, weighted (fusion without re-ranking), production "
                   "(the ranking the settings give, as served).")
@click.option("--files", "files", type=click.Path(file_okay=False), default=None,
              help="A folder of documents (any format kb ingest reads) that the qrels judge by file name without "
                   "extension; DATASET then needs only queries.jsonl and qrels/SPLIT.tsv.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON, with each query's nDCG@10 per method (per_query) and its kind (kinds), "
                   "for a paired test between two reports (benchmarks/compare_eval.py).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def eval_(ctx: click.Context, dataset: str, data_dir: str | None, split: str, methods: str, files: str | None,
          as_json: bool, quiet: bool) -> None:
    """Measure ranking on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv), or with --files on
    queries and qrels over a folder of documents.

    Ingests the corpus (or the --files folder) into a temporary index (or into --data-dir, reused
    when it already holds an index), searches every judged query with each method, and prints
    nDCG@10, Recall@100 and MRR@10 (ir-measures). With --files each result counts as the stem of
    its file (dorset_2021-11-19 for dorset_2021-11-19.pdf). Settings (KB_* variables, --config)
    apply as they do to serving.
    """
    from index.evaluation import scores_table
    from kbcli.evaluate import run_eval

    settings = _settings(ctx)
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    try:
        report = run_eval(Path(dataset), settings, Path(data_dir) if data_dir else None, split, chosen,
                          progress=not (quiet or as_json), files=Path(files) if files else None)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    over = f" over the files of {report.files}" if report.files else ""
    click.echo(f"{report.dataset} ({report.split}){over}: {report.judged_queries} judged queries of "
               f"{report.queries}, index {report.index}, {report.seconds:.0f} s")
    if report.unmatched_judgements:
        click.echo(f"{len(report.unmatched_judgements)} judged documents are not files of the index (they count as "
                   f"not found): {', '.join(report.unmatched_judgements[:5])}", err=True)
    click.echo(scores_table(report.methods))
    if report.by_kind:
        kinds = list(report.by_kind)
        width = max(len(k) for k in kinds) + 2
        click.echo("\nnDCG@10 by kind of query\n" + "kind".ljust(width) + "".join(m.rjust(12) for m in report.methods))
        for kind in kinds:
            scores = report.by_kind[kind]
            click.echo(kind.ljust(width) + "".join(f"{scores[m].ndcg10:12.4f}" for m in report.methods))
    if report.summary:
        click.echo(f"production vs {report.summary.best_single}: {report.summary.margin_ndcg10:+.4f} nDCG@10")
    for qid, reason in report.failed_queries.items():
        click.echo(f"query {qid} could not be searched: {reason}", err=True)


def _terminal_excerpt(text: str, highlighted: str, words: int = 40) -> str:
    """A plain-text excerpt of a passage around its first highlighted word, for the terminal."""
    import html
    import re

    from index.search.highlight import excerpt

    short = excerpt(highlighted, words)
    return html.unescape(re.sub(r"</?mark>", "", short)) if short else text[:300]


@cli.command()
@data_dir_option
@click.option("--host", default=None, help="Interface to listen on (setting host, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (setting port, default 5000).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@click.pass_context
def serve(ctx: click.Context, data_dir: str | None, host: str | None, port: int | None, workers: int,
          dev: bool) -> None:
    """Serve the search site and JSON API (gunicorn; --dev for Flask's server)."""
    settings = _settings(ctx, data_dir=data_dir, host=host, port=port)
    from webapp.server import missing_assets_message

    if (problem := missing_assets_message()) is not None:
        raise click.ClickException(problem)
    from index.embedding import no_torch
    from webapp.server import keep_torch_out

    kept_out = keep_torch_out(settings)  # before the app (and Haystack, which imports torch when it can)
    try:
        from webapp.pasted import held_texts_dir
        from webapp.server import PrivateRequestHandler, multiprocess_metrics, run_gunicorn

        if dev:
            _serving_app(settings).run(host=settings.host, port=settings.port, threaded=True,
                                       request_handler=PrivateRequestHandler)
            return
        # Around loading the app (and prometheus_client): gunicorn's workers add up their counts there, and
        # share the pasted texts they hold (in memory) there.
        with multiprocess_metrics(settings.metrics), held_texts_dir():
            run_gunicorn(_serving_app(settings), settings.host, settings.port, workers)
    finally:
        if kept_out:  # the server has stopped: a caller that goes on (a test) may import torch again
            no_torch.allow(quietly=True)


def _serving_app(settings: Settings) -> Any:
    from webapp import create_app

    app = create_app({"KB_SETTINGS": settings})
    try:
        generation = app.extensions["kb_index"].searcher().generation.id
        click.echo(f"Serving generation {generation} on http://{settings.host}:{settings.port}/")
    except SettingsError as exc:  # e.g. a wrong rerank_model: every search would fail, so do not start
        raise click.ClickException(str(exc)) from None
    except KBError as exc:
        click.echo(f"warning: {exc}", err=True)
        click.echo(f"Serving on http://{settings.host}:{settings.port}/ (pages will say how to build the index)")
    return app


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx: click.Context, data_dir: str | None, as_json: bool) -> None:
    """Show the live generation's manifest (sources, passages, model, built) and the published generations.

    For its age and the last run's outcome, see `kb status`.
    """
    settings = _settings(ctx, data_dir=data_dir)
    from index.storage import generations, open_generation

    try:
        generation = open_generation(settings)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    manifest = generation.manifest.to_dict()
    manifest.pop("source_hashes", None)
    manifest["published_generations"] = generations(settings).published()
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
        return
    for key, value in manifest.items():
        click.echo(f"{key}: {value}")


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status(ctx: click.Context, data_dir: str | None, as_json: bool) -> None:
    """The live generation, how old it is, and how the last run ended (for operators and monitoring)."""
    from index.storage import generations, open_generation

    settings = _settings(ctx, data_dir=data_dir)
    try:
        # Both read the store: an unreachable PostgreSQL is a one-line error, not a traceback.
        last = generations(settings).last_run()
        manifest = open_generation(settings).manifest
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    age_h = manifest.age_seconds() / 3600
    from index.embedding.encoders import query_graph_file

    graph, why_not = query_graph_file(settings, manifest)
    info = {"generation": manifest.generation, "created": manifest.created, "age_hours": round(age_h, 1),
            "sources": manifest.sources, "passages": manifest.passages,
            "last_run": last.status_dict() if last else None,
            "query_encoder": {"engine": "onnx" if graph else "torch", "graph": manifest.query_graph or None,
                              "warning": why_not or None}}
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"live generation {manifest.generation}, built {manifest.created} ({age_h:.1f} h ago), "
               f"{manifest.sources} sources, {manifest.passages} passages")
    click.echo(f"query encoder: ONNX Runtime, graph {manifest.query_graph}" if graph else f"warning: {why_not}")
    if last:
        click.echo(f"last run {last.run_id} ({last.kind}): {'published' if last.published else 'not published'}, "
                   f"{last.failed_files} files failed, gate {last.gate or 'not run'}")
        for what, used in (("projects catalogue", last.catalogue), ("canaries", last.canaries)):
            if used is None:
                click.echo(f"{what}: not recorded by that run")
            elif used.path:
                click.echo(f"{what}: {used.entries} entries from {used.path} ({used.found})")
            else:
                click.echo(f"warning: {what}: none ({used.found})" if used.found != "kept from the live index"
                           else f"{what}: {used.entries} entries ({used.found})")


@cli.command()
@data_dir_option
@click.option("--to", "target", default=None, help="Generation id to make live (default: the one before).")
@click.pass_context
def rollback(ctx: click.Context, data_dir: str | None, target: str | None) -> None:
    """Make the previous published generation live again (running servers switch on their next request)."""
    settings = _settings(ctx, data_dir=data_dir)
    from index.storage import generations

    backend = generations(settings)
    try:
        with backend.lock():
            live = backend.rollback(target)
    except KBError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Generation {live} is live.")


@cli.command()
@data_dir_option
@click.option("--to", "target", required=True, envvar="KB_STORE_URL",
              help="PostgreSQL URL to copy into (default: the store_url setting, KB_STORE_URL).")
@click.option("--all", "every", is_flag=True, help="Copy every published generation, so that rollback works there "
              "too (default: the live one only).")
@click.pass_context
def migrate(ctx: click.Context, data_dir: str | None, target: str, every: bool) -> None:
    """Copy the local index (the data directory's live generation) into a PostgreSQL store and make it live there.

    Nothing is embedded again; the local files are only read. Then point the web replicas at the database
    (store_url), and run `kb ingest` or `kb reindex` with store_url from then on.
    """
    settings = _settings(ctx, data_dir=data_dir, store_url="")
    from index.storage import migrate as copy_into

    try:
        url = _settings(ctx, data_dir=data_dir, store_url=target).store_url
        for generation, made_live in copy_into(settings, url, every):
            click.echo(f"Copied generation {generation.id} ({generation.manifest.sources} sources, "
                       f"{generation.manifest.passages} passages){' and made it live' if made_live else ''}.")
    except KBError as exc:
        raise click.ClickException(str(exc)) from None


def main() -> None:  # pragma: no cover - console entry point
    cli(obj={}, prog_name="kb")


if __name__ == "__main__":  # pragma: no cover
    main()
