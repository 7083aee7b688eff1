"""The request a query page sends, as code to run elsewhere: Python, R, JavaScript, curl.

Each snippet POSTs the query to the endpoint (a query of any length fits) and reads the result
into the language's table: a pandas DataFrame (SPARQLWrapper), an R data frame (httr, CSV), an
array of plain objects (Comunica), or CSV on the terminal (curl). A named query's snippets run
its text with the parameters bound, which is what `/queries/NAME?...` runs. Strings are quoted
for their language here, never in a template. No Flask.
"""

from __future__ import annotations

import re
import shlex

#: Languages offered, in the order shown: (key, label).
LANGUAGES = (("python", "Python (pandas)"), ("r", "R"), ("javascript", "JavaScript (Comunica)"),
             ("curl", "curl"))


def snippets(endpoint: str, query: str, kind: str) -> dict[str, str]:
    """Code that sends `query` to `endpoint` and reads the result, by language key.

    Args:
        endpoint: the absolute URL of the SPARQL endpoint.
        query: the query text.
        kind: "solutions" (SELECT, ASK) or "graph" (CONSTRUCT, DESCRIBE), from `CheckedQuery`.
    """
    return {"python": python(endpoint, query, kind), "r": r(endpoint, query, kind),
            "javascript": javascript(endpoint, query, kind), "curl": curl(endpoint, query, kind)}


def _python_string(text: str) -> str:
    if '"""' not in text and not text.endswith(("\\", '"')):
        return 'r"""' + text + '"""'
    return repr(text)


def python(endpoint: str, query: str, kind: str) -> str:
    """SPARQLWrapper (POST) into a pandas DataFrame: one column per variable, or the triples."""
    head = ("import pandas as pd\n"
            "from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper\n\n"
            f"endpoint = SPARQLWrapper({endpoint!r})\n"
            "endpoint.setMethod(\"POST\")\n"
            f"endpoint.setQuery({_python_string(query)})\n")
    if kind == "graph":
        return head + ("endpoint.setReturnFormat(TURTLE)\n"
                       "graph = endpoint.queryAndConvert()  # an rdflib Graph\n"
                       "df = pd.DataFrame([(str(s), str(p), str(o)) for s, p, o in graph],\n"
                       "                  columns=[\"subject\", \"predicate\", \"object\"])\n"
                       "print(df)\n")
    return head + ("endpoint.setReturnFormat(JSON)\n"
                   "result = endpoint.queryAndConvert()\n"
                   "if \"boolean\" in result:  # an ASK query\n"
                   "    df = pd.DataFrame({\"answer\": [result[\"boolean\"]]})\n"
                   "else:\n"
                   "    columns = result[\"head\"][\"vars\"]\n"
                   "    df = pd.DataFrame([{c: row[c][\"value\"] if c in row else None "
                   "for c in columns}\n"
                   "                       for row in result[\"results\"][\"bindings\"]],\n"
                   "                      columns=columns)\n"
                   "print(df)\n")


def _r_string(text: str) -> str:
    """An R raw string r"---(...)---" with enough dashes to hold `text`."""
    dashes = "-"
    while f"){dashes}\"" in text:
        dashes += "-"
    return f'r"{dashes}({text}){dashes}"'


def r(endpoint: str, query: str, kind: str) -> str:
    """httr POST, the result as CSV (SELECT) or N-Triples lines (CONSTRUCT) into a data frame."""
    accept = "application/n-triples" if kind == "graph" else "text/csv"
    read = ('df <- read.table(text = body, sep = " ", quote = "", comment.char = "",\n'
            '                 col.names = c("subject", "predicate", "object", "end"))'
            if kind == "graph" else "df <- read.csv(text = body, stringsAsFactors = FALSE)")
    return (f"library(httr)\n\nendpoint <- {_r_string(endpoint)}\n"
            f"query <- {_r_string(query)}\n"
            "response <- POST(endpoint, body = list(query = query), encode = \"form\",\n"
            f"                 accept(\"{accept}\"))\n"
            "stop_for_status(response)\n"
            "body <- content(response, as = \"text\", encoding = \"UTF-8\")\n"
            f"{read}\nprint(df)\n")


def _js_string(text: str) -> str:
    return "`" + re.sub(r"([`\\]|\$\{)", lambda m: "\\" + m.group(1), text) + "`"


def javascript(endpoint: str, query: str, kind: str) -> str:
    """Comunica (npm @comunica/query-sparql, Node.js 18+ as an ES module) over the endpoint."""
    source = f'{{ type: "sparql", value: {_js_string(endpoint)} }}'
    if kind == "graph":
        run = ("const quads = await (await engine.queryQuads(query, { sources: [source] }))"
               ".toArray();\n"
               "console.table(quads.map((q) => ({ subject: q.subject.value, "
               "predicate: q.predicate.value, object: q.object.value })));\n")
    else:
        run = ("const result = await engine.query(query, { sources: [source] });\n"
               "if (result.resultType === \"boolean\") {\n"
               "  console.log(await result.execute());\n"
               "} else {\n"
               "  const rows = await (await result.execute()).toArray();\n"
               "  console.table(rows.map((row) => Object.fromEntries(\n"
               "    [...row].map(([variable, term]) => [variable.value, term.value]))));\n"
               "}\n")
    return ('import { QueryEngine } from "@comunica/query-sparql";\n\n'
            "const engine = new QueryEngine();\n"
            f"const source = {source};\n"
            f"const query = {_js_string(query)};\n" + run)


def curl(endpoint: str, query: str, kind: str) -> str:
    """curl, POSTing the query as a form field; CSV or Turtle on standard output."""
    accept = "text/turtle" if kind == "graph" else "text/csv"
    return (f"curl --fail-with-body -H {shlex.quote('Accept: ' + accept)} \\\n"
            f"  --data-urlencode query={shlex.quote(query)} \\\n"
            f"  {shlex.quote(endpoint)}\n")
