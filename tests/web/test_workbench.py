"""The query workbench (issues #17.1-4 and #18): interface parameters, multi-line descriptions,
the form that posts, syntax errors in plain words at their place, readable results, the query
as code (the Python and curl snippets run against a real server) and the notebook in docs/
(executed with nbclient against a real server, and offline over a dump).

The editor itself runs in Chromium: tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from backends import running_ikmkg
from bs4 import BeautifulSoup
from conftest import PROJECT_DIR

from ikmkg import query_syntax, snippets
from ikmkg.named_queries import load_named_queries
from ikmkg.namespaces import PREFIXES

ROOT = PROJECT_DIR
NOTEBOOK = ROOT / "docs" / "competency-questions.ipynb"
PROVINCES = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#>\n"
             "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
             "SELECT ?province ?label WHERE {\n  ?province a ikm:Province ; rdfs:label ?label .\n"
             "  FILTER(lang(?label) = \"id\")\n} ORDER BY ?label")


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.data.decode(), "html.parser")


# --- #17.1: interface parameters are never query parameters --------------------------------

@pytest.mark.parametrize("path", ["/queries/cq01-first-phase-provinces?lang=id",
                                  "/queries/cq01-first-phase-provinces?lang=en&format=csv",
                                  "/queries/cq12-dogiyai-province?lang=id"])
def test_lang_is_not_a_query_parameter(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.data[-400:]


def test_lang_keeps_the_page_in_indonesian(client):
    response = client.get("/queries/cq01-first-phase-provinces?lang=id",
                          headers={"Accept": "text/html"})
    assert page(response).html["lang"] == "id"
    assert "unknown parameter" not in response.data.decode()


def test_a_query_may_not_declare_an_interface_parameter(tmp_path):
    (tmp_path / "q.rq").write_text("# title: t\n# param: lang — the language\n"
                                   "SELECT ?s WHERE { ?s ?p ?lang }\n", encoding="utf-8")
    from ikmkg.errors import DataError

    with pytest.raises(DataError, match="lang"):
        load_named_queries(tmp_path, "https://w3id.org/ikmkg/")


# --- #17.2: a description of several lines is one description ------------------------------

def test_multi_line_description_is_read_whole(tmp_path):
    (tmp_path / "q.rq").write_text(
        "# title: Provinces\n# description: Which provinces took part in the first phase\n"
        "#   (2013–2016), each with its\n#   product focus?\n# param: place iri The place\n"
        "#   to look up\n# a comment, not a continuation\nSELECT * WHERE { ?s ?p ?place }\n",
        encoding="utf-8")
    query = load_named_queries(tmp_path, "https://w3id.org/ikmkg/")["q"]
    assert query.description == ("Which provinces took part in the first phase (2013–2016), "
                                 "each with its product focus?")
    assert query.params == (("place", "iri The place to look up"),)


def test_shipped_descriptions_are_whole_on_the_pages(client):
    html = client.get("/sparql", headers={"Accept": "text/html"}).data.decode()
    assert "(2013–2016), each with its product focus?" in html
    named = client.get("/queries/cq06-posts", headers={"Accept": "text/html"})
    description = page(named).select_one("p.description").get_text()
    assert description.endswith("(26 December 2017)?")


# --- #17.3: the form posts; the text is never lost --------------------------------------------

def test_the_form_posts(client):
    form = page(client.get("/sparql", headers={"Accept": "text/html"})).select_one(
        "form.query-form")
    assert form["method"] == "post"


def test_a_long_query_posted_from_the_form_runs_and_keeps_its_text(client):
    padding = "\n".join(f"# line {n} " + "x" * 80 for n in range(120))  # ~11 KB of comments
    text = padding + "\n" + PROVINCES
    assert len(text.encode()) > 8192
    response = client.post("/sparql", data={"query": text, "format": "html"})
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one("textarea[name=query]").get_text() == text
    assert len(soup.select(".results-table tbody tr")) == 38
    # its downloads are posted too: a link would be longer than servers accept
    assert soup.select("form.inline-download input[name=query]")


@pytest.mark.parametrize("text,status", [
    ("SELECT ?s WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }", 400),
    ("DELETE WHERE { ?s ?p ?o }", 400),
])
def test_a_refused_query_comes_back_in_the_editor(client, text, status):
    response = client.post("/sparql", data={"query": text}, headers={"Accept": "text/html"})
    assert response.status_code == status
    soup = page(response)
    assert soup.select_one("textarea[name=query]").get_text() == text
    assert soup.select_one(".query-error").get_text().strip()


# --- #17.4: a syntax error in plain words, at its place --------------------------------------

@pytest.mark.parametrize("text,line,column,words", [
    ("SELEC ?s WHERE { ?s ?p ?o }", 1, 1, "did you mean SELECT"),
    ("SELECT ?s WHERE { ?s ?p ?o ", 1, 17, "never closed"),
    ("SELECT * WHERE { ?s ?p ?o } LIMT 3", 1, 29, "did you mean LIMIT"),
    ("SELECT ?s WHERE { ?s ?p ?o } }", 1, 30, "closes nothing"),
    ("SELECT ?s WHERE {\n  ?s ?p \"x }", 2, 9, "string is never closed"),
    ("SELECT ?s WHERE { ?s a ikm:Province }", 1, 24, "PREFIX ikm: <https://w3id.org/ikmkg/"),
    ("SELECT ?s WHERE {\n ?s ?p ?o\n ?s ?p ?o }", 3, 2, "cannot be read from ?s"),
])
def test_syntax_error_position_and_words(text, line, column, words):
    problem = query_syntax.diagnose(text, PREFIXES)
    assert (problem.line, problem.column) == (line, column)
    assert words in problem.message


def test_a_valid_query_has_no_problem():
    assert query_syntax.diagnose(PROVINCES, PREFIXES) is None


def test_what_may_come_is_summarised_never_a_character_class():
    for text in ("SELECT ?s WHERE { ?s ?p ?o . FILTER(?o = ) }",
                 "SELECT ?s WHERE { ?s <a b> ?o }", "SELECT * WHERE { ?s ?p ?o } LIMT 3",
                 "PREFIX ikm: <x:> SELECT * { ?s ?p ikm:a , }"):
        problem = query_syntax.diagnose(text, PREFIXES)
        assert problem.expected and len(problem.expected) <= 10
        assert not any(re.search(r"\\u\{|'\.\.=|\[_\]", item) for item in problem.expected)
        assert not re.search(r"\\u\{|\[_\]", problem.message)


def test_a_syntax_error_shows_the_query_page_with_a_marker(client):
    text = ("PREFIX ikm: <https://w3id.org/ikmkg/ontology#>\nSELECT ?p WHERE {\n"
            "  ?p a ikm:Province\n  LIMT 3")
    response = client.post("/sparql", data={"query": text}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    soup = page(response)
    editor = soup.select_one("textarea[name=query]")
    assert editor.get_text() == text
    assert (editor["data-error-line"], editor["data-error-column"]) == ("2", "17")
    error = soup.select_one(".query-error")
    assert "line 2, column 17" in error.get_text()
    excerpt = error.select_one(".error-excerpt").get_text().splitlines()
    assert excerpt[0].endswith("SELECT ?p WHERE {")
    assert excerpt[1].index("^") == excerpt[0].index("{")
    assert "\\u{" not in response.data.decode()
    assert soup.select("ul.examples li")  # still the whole query page


def test_programs_still_get_the_plain_error(client):
    response = client.post("/sparql", data={"query": "SELEC ?s WHERE { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 400 and "textarea" not in response.data.decode()


# --- #18: completions, results, code ----------------------------------------------------------

def test_vocabulary_offers_classes_and_properties_with_labels(client):
    english = json.loads(client.get("/sparql/vocabulary?lang=en").data)
    indonesian = json.loads(client.get("/sparql/vocabulary?lang=id").data)
    terms = {t["name"]: t for t in english["terms"]}
    assert terms["ikm:Province"]["kind"] == "class"
    assert terms["ikm:Province"]["label"] == "Province"
    assert terms["ikm:productFocus"]["kind"] == "property"
    assert {t["name"]: t for t in indonesian["terms"]}["ikm:Province"]["label"] == "Provinsi"
    assert english["prefixes"]["ikm"] == "https://w3id.org/ikmkg/ontology#"


def test_results_show_labels_with_the_iri_on_hover(client):
    response = client.post("/sparql", data={"query": PROVINCES + " LIMIT 3", "format": "html"})
    soup = page(response)
    first = soup.select_one(".results-table tbody tr td a")
    assert first["title"].startswith("https://w3id.org/ikmkg/id/province/")
    assert first.get_text() and not first.get_text().startswith("http")
    literal = soup.select(".results-table tbody tr td")[1]
    assert literal.select_one("[lang=id]") and "@id" in literal.get_text()


def test_each_query_and_named_query_offers_code(client):
    for response in (client.post("/sparql", data={"query": PROVINCES, "format": "html"}),
                     client.get("/queries/cq01-first-phase-provinces",
                                headers={"Accept": "text/html"})):
        languages = [d["data-language"] for d in page(response).select(".query-code details")]
        assert languages == ["python", "r", "javascript", "curl"]


@pytest.mark.parametrize("query", [PROVINCES, 'SELECT ?x WHERE { BIND("""a\\b""" AS ?x) }',
                                   "SELECT ?x WHERE { BIND(')--\"' AS ?x) } # )-\" `${x}`"])
def test_snippets_quote_any_text(query):
    python = snippets.python("http://localhost/sparql", query, "solutions")
    namespace: dict = {}
    source = python.split("endpoint.setQuery(", 1)[1].split(")\nendpoint.setReturnFormat")[0]
    exec(f"text = {source}", namespace)
    assert namespace["text"] == query
    assert "sparql" in snippets.r("http://localhost/sparql", query, "solutions")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`ikmkg serve` on loopback with the shipped graph (canonical base)."""
    with running_ikmkg(None, tmp_path_factory.mktemp("workbench-server"), ready="/",
                       seconds=60, workers=1) as (base, _):
        yield base


@pytest.mark.server
def test_python_snippet_runs_into_a_dataframe(server, tmp_path):
    pytest.importorskip("SPARQLWrapper")
    pytest.importorskip("pandas")
    code = snippets.python(server + "/sparql", PROVINCES, "solutions")
    script = tmp_path / "snippet.py"
    script.write_text(code + "\nprint('ROWS', len(df), list(df.columns))\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ROWS 38 ['province', 'label']" in done.stdout
    assert "Jawa Timur" in done.stdout


@pytest.mark.server
def test_curl_snippet_runs(server):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    done = subprocess.run(["sh", "-c", snippets.curl(server + "/sparql", PROVINCES, "solutions")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "province,label" and "Jawa Timur" in done.stdout


def _execute_notebook(env: dict[str, str]):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import os

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def _outputs(notebook) -> tuple[str, int]:
    text, images = "", 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text += output.get("text", "") + output.get("data", {}).get("text/plain", "")
            images += "image/png" in output.get("data", {})
    return text, images


@pytest.mark.server
@pytest.mark.slow
def test_notebook_runs_against_a_server(server):
    text, images = _outputs(_execute_notebook({"IKMKG_URL": server, "IKMKG_DUMP": ""}))
    assert "online, from " + server in text
    assert "Jawa Timur" in text and "38 provinces" in text
    assert images == 1


@pytest.mark.slow
def test_notebook_runs_offline_over_the_dump(tmp_path):
    from click.testing import CliRunner

    from ikmkg.cli import cli

    result = CliRunner().invoke(cli, ["dump", "--out", str(tmp_path / "dumps")])
    assert result.exit_code == 0, result.output
    text, images = _outputs(_execute_notebook({"IKMKG_DUMP": str(tmp_path / "dumps" /
                                                                 "ikmkg.trig")}))
    assert "offline, from" in text and "Jawa Timur" in text and "38 provinces" in text
    assert images == 1
