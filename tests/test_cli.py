"""The `ikmkg` command line: exit codes, report formats, and help kept in docs/cli.md.

Run `python tests/test_cli.py` to print the `--help` blocks of docs/cli.md after changing an option.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH

from ikmkg.cli import cli

TESTS_DIR = Path(__file__).parent
SHAPES_DIR = TESTS_DIR / "data" / "shapes"
CONTEXT = str(SHAPES_DIR / "context.ttl")
VALID = str(SHAPES_DIR / "valid" / "site-after-the-move.ttl")
INVALID = str(SHAPES_DIR / "invalid" / "site-not-in-province-at-the-time.ttl")
SYNTAX_ERROR = SHAPES_DIR / "syntax-error.ttl"
CLI_DOC = TESTS_DIR.parent / "docs" / "cli.md"
HELP_WIDTH = 100


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), prog_name="ikmkg", terminal_width=HELP_WIDTH)


def test_validate_conforming_files_exits_0(runner):
    result = run(runner, "validate", "--alone", CONTEXT, VALID)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Conforms: the data satisfies every shape.\n"


def test_validate_violation_exits_1_with_a_report(runner):
    result = run(runner, "validate", "--alone", CONTEXT, INVALID)
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("Does not conform: 1 result(s) on 1 focus node(s).")
    assert f"id:engagement/follow-up--papua-tengah  (in {INVALID}:19)" in out
    assert "Violation: The site id:regency/dogiyai did not lie in the engagement's province " \
           "id:province/papua-tengah in 2017" in out
    assert "path: ikm:site" in out
    assert "value: id:regency/dogiyai" in out
    assert "shape: ikmsh:SiteInProvinceShape (sh:SPARQLConstraintComponent)" in out


def test_validate_json(runner):
    result = run(runner, "validate", "--alone", "--format", "json", CONTEXT, INVALID)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["conforms"] is False
    assert payload["results"] == 1
    [group] = payload["focus_nodes"]
    assert group["focus"] == "id:engagement/follow-up--papua-tengah"
    assert (group["file"], group["line"]) == (INVALID, 19)
    [item] = group["results"]
    assert (item["path"], item["value"], item["severity"], item["shape"]) == (
        "ikm:site", "id:regency/dogiyai", "Violation", "ikmsh:SiteInProvinceShape")


def test_validate_json_conforming(runner):
    result = run(runner, "validate", "--alone", "--format", "json", CONTEXT, VALID)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"conforms": True, "results": 0, "focus_nodes": []}


@pytest.mark.parametrize("files,conforms,code", [((CONTEXT, VALID), True, 0),
                                                  ((CONTEXT, INVALID), False, 1)])
def test_validate_turtle_is_a_shacl_report(runner, files, conforms, code):
    result = run(runner, "validate", "--alone", "--format", "turtle", *files)
    assert result.exit_code == code
    graph = Graph().parse(data=result.stdout, format="turtle")
    [report] = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert graph.value(report, SH.conforms) == Literal(conforms)
    assert len(list(graph.objects(report, SH.result))) == (0 if conforms else 1)


def test_validate_syntax_error_exits_2_with_file_line_column(runner):
    result = run(runner, "validate", str(SYNTAX_ERROR))
    assert result.exit_code == 2
    where = re.escape(str(SYNTAX_ERROR))
    assert re.search(rf"{where}:3:\d+: Turtle syntax error", result.stderr), result.stderr
    assert result.stdout == ""


def test_validate_missing_file_exits_2(runner, tmp_path):
    missing = tmp_path / "missing.ttl"
    result = run(runner, "validate", str(missing))
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.stderr


def test_validate_unknown_format_is_a_usage_error(runner):
    result = run(runner, "validate", "--alone", "--format", "xml", CONTEXT)
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


def test_validate_under_another_base_reports_canonical_iris(runner):
    result = run(runner, "validate", "--alone", "--base-uri", "http://127.0.0.1:8765/", CONTEXT, INVALID)
    assert result.exit_code == 1
    assert "id:engagement/follow-up--papua-tengah" in result.stdout


def test_documented_example_report_is_current(runner, monkeypatch):
    """docs/cli.md shows a real report: the one this command prints."""
    monkeypatch.chdir(CLI_DOC.parent.parent)
    result = run(runner, "validate", "--alone", "tests/data/shapes/context.ttl",
                 "tests/data/shapes/invalid/site-not-in-province-at-the-time.ttl")
    assert result.exit_code == 1
    assert result.stdout in CLI_DOC.read_text(encoding="utf-8")


def test_validate_a_shipped_file_with_the_rest_of_the_data(runner, monkeypatch):
    """Issue #17: the unmodified data/programme.ttl conforms; it refers to nodes stated in the
    other data files, so checked alone it does not."""
    monkeypatch.chdir(CLI_DOC.parent.parent)
    assert run(runner, "validate", "data/programme.ttl").exit_code == 0
    alone = run(runner, "validate", "--alone", "data/programme.ttl")
    assert alone.exit_code == 1
    assert alone.stdout.startswith("Does not conform")


@pytest.fixture()
def programme_without_a_label(tmp_path: Path) -> Path:
    """A copy of data/programme.ttl whose first rdfs:label is an rdfs:comment instead."""
    text = (CLI_DOC.parent.parent / "data" / "programme.ttl").read_text(encoding="utf-8")
    edited = tmp_path / "programme.ttl"
    edited.write_text(text.replace("rdfs:label", "rdfs:comment", 1), encoding="utf-8")
    return edited


def test_validate_an_edited_file_in_place_of_its_namesake(runner, programme_without_a_label):
    result = run(runner, "validate", "--format", "json", str(programme_without_a_label))
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["results"] == 1
    [group] = payload["focus_nodes"]
    assert group["file"] == str(programme_without_a_label)
    assert group["results"][0]["path"] == "rdfs:label"


def test_validate_reports_only_the_given_files_focus_nodes(runner, tmp_path):
    """provinces.ttl without Central Papua breaks a node of places.ttl too: only the results on
    nodes the given file states are reported, in the text and in the report graph alike."""
    from rdflib import URIRef

    graph = Graph().parse(CLI_DOC.parent.parent / "data" / "provinces.ttl", format="turtle")
    graph.remove((URIRef("https://w3id.org/ikmkg/id/province/papua-tengah"), None, None))
    edited = tmp_path / "provinces.ttl"
    graph.serialize(edited, format="turtle")
    stated = {str(s) for s in graph.subjects(unique=True)}
    text = run(runner, "validate", str(edited))
    assert text.exit_code == 1
    assert "id:province-set/2025" in text.stdout
    assert "id:territory/dogiyai--papua-tengah" not in text.stdout
    result = run(runner, "validate", "--format", "turtle", str(edited))
    report_graph = Graph().parse(data=result.stdout, format="turtle")
    focus = {str(node) for node in report_graph.objects(None, SH.focusNode)}
    assert focus and focus <= stated
    [report] = list(report_graph.subjects(RDF.type, SH.ValidationReport))
    assert report_graph.value(report, SH.conforms) == Literal(False)


def help_text(name: str) -> str:
    result = run(CliRunner(), name, "--help")
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.stdout.strip().splitlines())


def command_section(name: str) -> str:
    """The section of docs/cli.md headed `## \`ikmkg NAME\``, up to the next `## ` heading."""
    text = CLI_DOC.read_text(encoding="utf-8")
    heading = f"\n## `ikmkg {name}`\n"
    assert heading in text, f"docs/cli.md has no section for `ikmkg {name}`"
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_help_of_every_command_is_documented(name):
    assert help_text(name) in command_section(name), (
        f"docs/cli.md's section for `ikmkg {name}` lacks its current `--help`; "
        "run `python tests/test_cli.py` and paste its block")


if __name__ == "__main__":
    for command in sorted(cli.commands):
        print(f"```text\n$ ikmkg {command} --help\n{help_text(command)}\n```\n")
