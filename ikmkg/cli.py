"""The `ikmkg` command: validate, serve (and, as they land, dump, load, release).

Exit codes: 0 success; 1 the data does not conform; 2 a usage, syntax or load error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ikmkg import __version__
from ikmkg import kg as kg_module
from ikmkg.errors import DataError
from ikmkg.settings import SETTINGS, STORE_MODES, Settings

HELP = {s.name: s.help for s in SETTINGS}


class DataLoadError(click.ClickException):
    """A load or syntax error: exit code 2, like a usage error."""

    exit_code = 2


def published(settings: Settings):  # noqa: ANN201 - ikmkg.publish.Publication
    """The validated graph (ikmkg.publish); exit 1 with the report when it does not conform,
    2 on a syntax or load error."""
    from ikmkg import publish

    try:
        return publish.publish(settings)
    except publish.DoesNotConform as exc:
        click.echo(exc.report.text(), err=True, nl=False)
        sys.exit(1)
    except DataError as exc:
        raise DataLoadError(exc.message) from None


def base_uri_option(f):  # noqa: ANN001, ANN201 - click decorator
    return click.option("--base-uri", envvar="IKMKG_BASE_URI", default=None,
                        help=HELP["base_uri"] + " [env IKMKG_BASE_URI]")(f)


def project_dir_option(f):  # noqa: ANN001, ANN201 - click decorator
    return click.option("--project-dir", envvar="IKMKG_PROJECT_DIR", default=None,
                        type=click.Path(file_okay=False, exists=True),
                        help=HELP["project_dir"] + " [env IKMKG_PROJECT_DIR]")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ikmkg")
def cli() -> None:
    """Publish the knowledge graph of Indonesia's IKM development programme as linked data."""


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "turtle"]),
              default="text", show_default=True,
              help="Report format: text (grouped by focus node, for people), json (the same, for "
                   "programs) or turtle (the SHACL validation report graph).")
@click.option("--alone", is_flag=True, default=False,
              help="Check FILES by themselves, without the rest of data/, and report every "
                   "result.")
@base_uri_option
@project_dir_option
def validate(files: tuple[Path, ...], output_format: str, alone: bool, base_uri: str | None,
             project_dir: str | None) -> None:
    """Check Turtle syntax and the SHACL shapes of FILES (default: the shipped data/*.ttl).

    FILES are checked in place of the data files of the same name, together with the rest of
    the project's data/ (so a reference to a node stated elsewhere resolves), and the report
    names only the results whose focus node FILES state. With --alone, FILES are checked by
    themselves and every result is reported. The shipped ontology and shapes apply, always
    under the canonical base the files are written in. A syntax error is reported as
    FILE:LINE:COLUMN; the report lists each failing focus node with its file, then each
    result's message, path, value and shape.

    Exits 0 when the data conforms, 1 when it violates a shape, 2 on a syntax or load error.
    """
    from ikmkg.validation import validate as run_validation

    settings = Settings.from_env(base_uri=base_uri, project_dir=project_dir)
    paths: list[Path] | None = None
    if files and not alone:
        # issue #17: a file of data/ checked alone misses the nodes it refers to
        names = {path.name for path in files}
        paths = [*files, *(path for path in kg_module.data_files(settings)
                           if path.name not in names)]
    elif files:
        paths = list(files)
    try:
        kg = kg_module.load(settings, paths)
        report = run_validation(kg)
        if files and not alone:
            stated = {subject for path in files
                      for subject in kg_module.parse_turtle(path).subjects(unique=True)}
            report = report.about(stated)
    except DataError as exc:
        raise DataLoadError(exc.message) from None
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    elif output_format == "turtle":
        click.echo(report.graph.serialize(format="turtle"))
    else:
        click.echo(report.text(), nl=False)
    sys.exit(0 if report.conforms else 1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="IKMKG_HOST",
              help="Interface to listen on [env IKMKG_HOST].")
@click.option("--port", default=8080, show_default=True, type=int, envvar="IKMKG_PORT",
              help="TCP port to listen on [env IKMKG_PORT].")
@click.option("--workers", default=None, type=click.IntRange(min=1), envvar="IKMKG_WORKERS",
              help="Worker processes of the HTTP server (Granian) [env IKMKG_WORKERS]. "
                   "[default: 2, or the number of CPU cores if fewer]")
@base_uri_option
@project_dir_option
@click.option("--store", default=None, envvar="IKMKG_STORE",
              help=HELP["store"] + " (loaded with `ikmkg load --store`) [env IKMKG_STORE]")
@click.option("--store-mode", type=click.Choice(STORE_MODES), default=None,
              envvar="IKMKG_STORE_MODE", help=HELP["store_mode"] + " [env IKMKG_STORE_MODE]")
@click.option("--watch", is_flag=True, default=False,
              help="Reload when files under ontology/ or data/ change (as on SIGHUP).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              envvar="IKMKG_LOG_FORMAT",
              help="text: where it serves, how to stop, and warnings; json: one JSON object a "
                   "line, with a line per request [env IKMKG_LOG_FORMAT]. [default: text on a "
                   "terminal, else json]")
def serve(host: str, port: int, workers: int | None, base_uri: str | None,
          project_dir: str | None, store: str | None, store_mode: str | None,
          watch: bool, log_format: str | None) -> None:
    """Validate the graph and serve it (SPARQL endpoint and pages) with Granian.

    Stop it with Ctrl+C (SIGINT) or SIGTERM; SIGHUP reloads the data.
    """
    from ikmkg.errors import BackendUnavailable
    from ikmkg.server import run_server

    settings = Settings.from_env(base_uri=base_uri, project_dir=project_dir, store=store,
                                 store_mode=store_mode)
    try:
        run_server(settings, host=host, port=port, workers=workers, watch=watch,
                   log_format=log_format)
    except (DataError, BackendUnavailable) as exc:
        raise DataLoadError(exc.message) from None


@cli.command()
@click.option("--store", required=True, envvar="IKMKG_STORE",
              help="SPARQL query endpoint of the store to load into (Oxigraph: "
                   "http://HOST:7878/query, Virtuoso: http://HOST:8890/sparql); credentials "
                   "from IKMKG_STORE_USER and IKMKG_STORE_PASSWORD [env IKMKG_STORE]")
@click.option("--update-url", default=None,
              help="SPARQL Update endpoint, when the store's default one does not fit.")
@click.option("--graph-store-url", default=None,
              help="Graph Store Protocol endpoint, when the store's default one does not fit.")
@base_uri_option
@project_dir_option
def load(store: str, update_url: str | None, graph_store_url: str | None,
         base_uri: str | None, project_dir: str | None) -> None:
    """Validate the graph and load it into the named graphs of a remote SPARQL store.

    The previous version stays published until the new one is complete: the graphs go into
    fresh versioned graphs, then one SPARQL Update adds the new version's record, which
    switches every reader. Exits 0 when loaded, 1 when the data does not conform, 2 on a load
    or store error.
    """
    from ikmkg.errors import IkmkgError
    from ikmkg.remote import RemoteStore
    from ikmkg.remote_load import load as load_remote

    settings = Settings.from_env(base_uri=base_uri, project_dir=project_dir, store=store)
    kg = published(settings).graph
    remote = RemoteStore.from_settings(settings)
    try:
        result = load_remote(remote, kg, update_url=update_url, graph_store_url=graph_store_url,
                             progress=lambda message: click.echo(message, err=True))
    except IkmkgError as exc:
        raise DataLoadError(exc.message) from None
    click.echo(result.text())


@cli.command()
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the dumps into; created, or replaced atomically if it holds an "
                   "earlier dump (a folder with other content is refused).")
@base_uri_option
@project_dir_option
def dump(out_dir: Path, base_uri: str | None, project_dir: str | None) -> None:
    """Validate the graph and write its dumps (Turtle, N-Triples, JSON-LD, RDF/XML, TriG,
    N-Quads, CSV per class, SHA256SUMS) into OUT, deterministically and atomically.

    Exits 0 when written, 1 when the data does not conform, 2 on a load or write error.
    """
    from ikmkg import dumps

    settings = Settings.from_env(base_uri=base_uri, project_dir=project_dir)
    kg = published(settings).graph

    def progress(step: int, steps: int, message: str) -> None:
        click.echo(f"[{step}/{steps}] {message}", err=True)

    try:
        manifest = dumps.write_dumps(kg, out_dir, settings.base_uri, progress=progress)
    except DataError as exc:
        raise DataLoadError(exc.message) from None
    except OSError as exc:
        raise DataLoadError(f"{out_dir}: cannot write the dumps: {exc}") from None
    click.echo(f"wrote {len(manifest.files)} files ({manifest.triples} triples) to {out_dir}")


@cli.command()
@click.argument("version")
@click.option("--date", "release_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Release date, YYYY-MM-DD (default: today, UTC); stored in the release, so "
                   "rebuilding it gives the same bytes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also build the release's dumps and research bundle into this folder.")
@base_uri_option
@project_dir_option
def release(version: str, release_date, out_dir: Path | None, base_uri: str | None,  # noqa: ANN001
            project_dir: str | None) -> None:
    """Record release VERSION of the validated graph in releases/VERSION/ (metadata, canonical
    N-Quads snapshot, validation report, named queries) and regenerate CITATION.cff.

    Exits 0 when recorded, 1 when the data does not conform, 2 on a load error, a bad or
    existing version.
    """
    from ikmkg import releases as release_module

    settings = Settings.from_env(base_uri=base_uri, project_dir=project_dir)
    try:
        release_module.check_version(version)
    except DataError as exc:
        raise DataLoadError(exc.message) from None
    publication = published(settings)
    try:
        recorded = release_module.record_release(
            settings, version, publication, date=release_date.date() if release_date else None)
    except DataError as exc:
        raise DataLoadError(exc.message) from None
    click.echo(f"recorded release {recorded.version} ({recorded.date}, {recorded.triples} "
               f"triples) in {recorded.directory}")
    if recorded.previous and release_module.ontology_changed(settings, recorded):
        previous = release_module.get_release(settings, recorded.previous)
        if previous.ontology_version == recorded.ontology_version:
            click.echo(f"warning: the ontology changed since {previous.version} but its "
                       f"owl:versionIRI is still <{recorded.ontology_version}>", err=True)
    if out_dir is not None:
        build = release_module.build_release(settings, version, out_dir)
        click.echo(f"wrote the dumps and {build.bundle.name} to {out_dir}")
