"""A SPARQL syntax error in plain words: where (line, column), what was found, what may come.

pyoxigraph's parser reports the farthest point its PEG grammar reached, which is often far from
the mistake ("error at 1:49" for a stray word in the middle, "expected CONSTRUCT" for `SELEC`),
and lists a haphazard set of the alternatives it tried there, Unicode character classes
included (issue #17). So the position comes from the first token that cannot go on: the token
checks below (an undeclared prefix, an unclosed string, IRI or bracket, a bracket that closes
nothing), else rdflib's pyparsing grammar (which parses without evaluating), else pyoxigraph's
own position. What may come there is read from the tokens before it (the start of a query, a
triple pattern, the clauses after the WHERE group...), in a few words, never as a character
class.

No Flask: ikmkg.web.workbench shows the result on the query page.
"""

from __future__ import annotations

import dataclasses
import difflib
import re

import pyoxigraph as ox
from pyparsing import ParseException
from rdflib.plugins.sparql.parser import parseQuery

from ikmkg.sparql import Token, tokenize

#: Longest text whose error position is sought with rdflib's (pure Python) parser; longer texts
#: get pyoxigraph's own position.
MAX_PARSED_CHARS = 100_000

KEYWORDS = frozenset("""
    BASE PREFIX SELECT CONSTRUCT DESCRIBE ASK DISTINCT REDUCED AS FROM NAMED WHERE GROUP BY
    HAVING ORDER ASC DESC LIMIT OFFSET VALUES UNDEF OPTIONAL GRAPH SERVICE SILENT BIND MINUS
    FILTER UNION NOT IN EXISTS A TRUE FALSE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR
    STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN
    UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY
    HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512 COALESCE IF
    STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE
    LOAD CLEAR CREATE DROP COPY MOVE ADD INSERT DELETE DATA WITH USING DEFAULT ALL TO INTO
    LANGDIR STRLANGDIR HASLANG HASLANGDIR ISTRIPLE TRIPLE SUBJECT PREDICATE OBJECT LATERAL
""".split())

_MESSAGE = re.compile(r"^error at (\d+):(\d+): ", re.DOTALL)
_CLOSERS = {"}": "{", ")": "(", "]": "["}
_OPENERS = {v: k for k, v in _CLOSERS.items()}
_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
_TERM_KINDS = {"iri", "pname", "var", "string", "number", "bnode", "langtag"}
_OPERATORS = {"(", "=", "!=", "<", ">", "<=", ">=", "&&", "||", "+", "-", "*", "/", "!"}


@dataclasses.dataclass(frozen=True)
class SyntaxProblem:
    """Where a query text stops being SPARQL, and what could have come there."""

    line: int  # 1-based
    column: int  # 1-based, in characters
    message: str  # one or two sentences in plain words
    expected: tuple[str, ...] = ()  # what may come at that point, summarised

    def excerpt(self, text: str) -> tuple[str, str]:
        """The line of `text` with the problem and a marker line (`^` under the column)."""
        lines = text.splitlines() or [""]
        line = lines[min(self.line, len(lines)) - 1]
        return line, " " * (self.column - 1) + "^"


def position(text: str, offset: int) -> tuple[int, int]:
    """Line and column (both 1-based) of the character at `offset` of `text`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _offset(text: str, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    if line > len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def diagnose(text: str, prefixes: dict[str, str] | None = None) -> SyntaxProblem | None:
    """The syntax problem of `text`, or None if it parses.

    Args:
        text: a SPARQL query that pyoxigraph refused (never evaluated here).
        prefixes: known prefixes (name -> IRI), to suggest the PREFIX line a query lacks.
    """
    tokens = tokenize(text)
    offset, message, expected = _token_problem(text, tokens, prefixes or {})
    if offset is None:
        offset = _parse_offset(text)
        if offset is None:
            return None
    if expected is None:
        expected = expected_at(text, offset)
    if message is None:
        found = next((t for t in tokens if t.start <= offset < t.start + len(t.text)), None)
        message = _found_message(found, expected)
    line, column = position(text, offset)
    return SyntaxProblem(line, column, message, expected)


def _token_problem(text: str, tokens: list[Token],
                   prefixes: dict[str, str]
                   ) -> tuple[int | None, str | None, tuple[str, ...] | None]:
    """The first mistake seen on the tokens alone: (offset, message, what may come there, if
    not read from the tokens before it)."""
    declared = set()
    words = [t.text.upper() if t.kind == "word" else "" for t in tokens]
    stack: list[Token] = []
    for n, token in enumerate(tokens):
        if words[n] == "PREFIX" and n + 1 < len(tokens) and tokens[n + 1].kind == "pname":
            declared.add(tokens[n + 1].text.partition(":")[0])
        elif token.kind == "pname" and not (n and words[n - 1] == "PREFIX"):
            prefix = token.text.partition(":")[0]
            if prefix not in declared:
                known = prefixes.get(prefix)
                hint = (f": add the line PREFIX {prefix}: <{known}> at the top" if known
                        else ": declare it with a PREFIX line at the top")
                return token.start, f"The prefix {prefix}: is not declared{hint}.", ()
        elif token.kind == "other" and token.text in "\"'":
            return (token.start, f"This string is never closed: add the closing {token.text}.",
                    (token.text,))
        elif token.kind == "other" and token.text == "<":
            return token.start, ("This IRI is never closed, or holds a character an IRI "
                                 "cannot (a space, a quote, a brace): write it as <...>.",
                                 (">",))
        elif token.text in _OPENERS:
            stack.append(token)
        elif token.text in _CLOSERS:
            if not stack or stack[-1].text != _CLOSERS[token.text]:
                still = (f" the {stack[-1].text} of line {position(text, stack[-1].start)[0]} "
                         "is still open;" if stack else "")
                return token.start, (f"This {token.text} closes nothing:{still} remove it or "
                                     "add its opening bracket."), None
            stack.pop()
    if stack:
        opener = stack[-1]
        closer = _OPENERS[opener.text]
        return opener.start, f"This {opener.text} is never closed: add its {closer}.", (closer,)
    return None, None, None


def _parse_offset(text: str) -> int | None:
    """Where rdflib's grammar stops (the first token that cannot go on), else pyoxigraph's
    position; None if both parse the text."""
    if len(text) <= MAX_PARSED_CHARS:
        try:
            parseQuery(text)
        except ParseException as exc:
            return exc.loc
    try:
        # The NUL (which no query may hold) makes the text fail to parse: never evaluated.
        ox.Store().query(text + "\n\x00")
    except SyntaxError as exc:
        match = _MESSAGE.match(str(exc))
        if match:
            offset = _offset(text + "\n\x00", int(match.group(1)), int(match.group(2)))
            return offset if offset < len(text) else None  # at the NUL: the text parses
    return None


def expected_at(text: str, offset: int) -> tuple[str, ...]:
    """What may come at `offset` of `text`, read from the tokens before it."""
    before = tokenize(text[:offset])
    words = [t.text.upper() if t.kind == "word" else "" for t in before]
    if not before:
        return ("PREFIX", "BASE", *_FORMS)
    last, word = before[-1], words[-1]
    if word == "PREFIX":
        return ("a prefix name, e.g. ikm:",)
    if word == "BASE" or len(before) >= 2 and words[-2] == "PREFIX":
        return ("an IRI in <...>",)
    if word in ("GROUP", "ORDER"):
        return ("BY",)
    if word in ("LIMIT", "OFFSET"):
        return ("a whole number",)
    if word in ("FILTER", "BIND", "HAVING"):
        return ("(",)
    if last.text in _OPERATORS:
        return ("a ?variable", "a literal", "a function such as STR(…)", "(")
    depth = 0
    place = 0  # in a triple pattern: 0 subject, 1 predicate, 2 object, 3 after the object
    for token, upper in zip(before, words):
        if token.text == "{":
            depth, place = depth + 1, 0
        elif token.text == "}":
            depth, place = depth - 1, 0
        elif token.text == ".":
            place = 0
        elif token.text == ";":
            place = 1
        elif token.text == ",":
            place = 2
        elif token.kind in _TERM_KINDS or upper == "A" or token.text == "]":
            place = min(place + 1, 3) if token.kind != "langtag" else place
        elif upper:
            place = 0
    if depth <= 0:
        if any(w in _FORMS for w in words) and any(t.text == "}" for t in before):
            return ("GROUP BY", "HAVING", "ORDER BY", "LIMIT", "OFFSET", "VALUES")
        if any(w in _FORMS for w in words):
            return ("a ?variable", "*", "WHERE", "{")
        return ("PREFIX", "BASE", *_FORMS)
    return {0: ("a subject (?variable, IRI, prefix:name)", "FILTER", "OPTIONAL", "BIND",
                "VALUES", "UNION", "MINUS", "}"),
            1: ("a predicate (IRI, prefix:name, a, ?variable)",),
            2: ("an object (?variable, IRI, prefix:name, literal)",),
            3: (".", ";", ",", "}")}[place]


def _found_message(found: Token | None, expected: tuple[str, ...]) -> str:
    if found is None:
        return "The query ends too early."
    if found.kind == "word" and found.text.upper() not in KEYWORDS:
        options = [e for e in expected if re.fullmatch(r"[A-Z][A-Z ]*", e)] or sorted(KEYWORDS)
        close = difflib.get_close_matches(found.text.upper(), options, n=1, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(found.text.upper(), sorted(KEYWORDS), n=1,
                                              cutoff=0.75)
        if close:
            return f"{found.text} is not a SPARQL keyword: did you mean {close[0]}?"
        return (f"{found.text} is not a SPARQL keyword (a variable starts with ?, a prefixed "
                "name has a colon).")
    return f"The query cannot be read from {found.text} on."
