"""The SHACL compiler of the fast conformance check: shapes graph -> one SPARQL query per
constraint over all focus nodes (ikmkg.conformance evaluates them).

`compile_shapes` implements the part of SHACL Core and SHACL-SPARQL the project's shapes use and
raises `Unsupported` for anything else (an unknown sh: parameter, a complex path, sh:node,
SPARQL-based targets or constraint components, a SPARQL constraint whose set-at-a-time
evaluation could differ from pySHACL's pre-binding...). Semantics follow pySHACL 0.40 where it
refines the spec (see ikmkg.conformance).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from ikmkg.conformance import (ILL_TYPED_GRAPH, ILL_TYPED_MARK, Checker, Constraint, Context,
                               Test, Unsupported, sparql_term)

#: Parameters read by the compiler; any other sh: predicate on a shape is refused.
HANDLED = {SH[n] for n in (
    "path", "class", "datatype", "nodeKind", "minCount", "maxCount", "pattern", "flags", "in",
    "hasValue", "languageIn", "uniqueLang", "minInclusive", "qualifiedValueShape",
    "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint", "or", "xone",
    "property", "sparql", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf",
    "deactivated",
)}
#: Non-validating shape properties (SHACL 1.0 section 2.3.2 and 2.1.5).
IGNORED = {SH[n] for n in ("message", "severity", "name", "description", "order", "group",
                            "defaultValue")}
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
#: Features that change what validation means; their presence anywhere refuses the shapes.
_REFUSED_PREDICATES = {SH.target, SH.rule, SH.parameter, SH.validator, SH.nodeValidator,
                       SH.propertyValidator, SH.entailment, SH.shapesGraph, OWL.imports}
_REFUSED_TYPES = {SH.ConstraintComponent, SH.SPARQLTarget, SH.SPARQLTargetType,
                  SH.SPARQLFunction, SH.JSConstraint, SH.JSTarget}
_NODE_KINDS = {
    SH.IRI: "isIRI({x})", SH.BlankNode: "isBlank({x})", SH.Literal: "isLiteral({x})",
    SH.BlankNodeOrIRI: "(isBlank({x}) || isIRI({x}))",
    SH.BlankNodeOrLiteral: "(isBlank({x}) || isLiteral({x}))",
    SH.IRIOrLiteral: "(isIRI({x}) || isLiteral({x}))",
}
#: Regular expressions whose meaning is the same in Python's re (pySHACL) and in pyoxigraph's
#: REGEX: literal characters, classes, groups, alternation, quantifiers, escaped punctuation;
#: no (?...) group (look-arounds, inline flags) and no [: (a POSIX class to one, not the other).
_SAFE_REGEX = re.compile(r"(?!.*\(\?)(?!.*\[:)(?:[^\\]|\\[.\-\\/^$|?*+()\[\]{}])*", re.DOTALL)
#: SPARQL-constraint features whose meaning under set-at-a-time evaluation may differ from
#: pySHACL's pre-binding of $this (SHACL 1.0 section 5.3.1), or that name pre-bound variables
#: the compiler does not provide.
_REFUSED_SPARQL = re.compile(
    r"(?<![?$\w])(MINUS|VALUES|SERVICE|GRAPH|FROM|LIMIT|OFFSET|GROUP|HAVING|COUNT|SUM|MIN|MAX|AVG|"
    r"SAMPLE|GROUP_CONCAT)\b|\bAS\s+[$?]this\b", re.IGNORECASE)
#: Variables are case-sensitive: $PATH is pre-bound, ?path is an ordinary variable.
_REFUSED_VARIABLES = re.compile(r"[$?](PATH|currentShape|shapesGraph|failure)\b")


def _string(text: str) -> str:
    return str(ox.Literal(text))



def compile_shapes(shapes: Graph) -> Checker:
    """Compile the shapes graph into queries.

    Raises:
        Unsupported: a feature not implemented here is used (the message names it).
    """
    for predicate in _REFUSED_PREDICATES:
        if (None, predicate, None) in shapes:
            raise Unsupported(f"{predicate} is not implemented")
    for kind in _REFUSED_TYPES:
        if (None, RDF.type, kind) in shapes:
            raise Unsupported(f"{kind} is not implemented")
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
            shapes.subjects(RDF.type, SH.PropertyShape)):
        if {RDFS.Class, OWL.Class} & set(shapes.objects(shape, RDF.type)):
            raise Unsupported(f"{shape}: implicit class targets are not implemented")
    compiler = _Compiler(shapes)
    roots = sorted({s for t in _TARGETS for s in shapes.subjects(t, None)}, key=str)
    for shape in roots:
        compiler.top_level(shape)
    return Checker(compiler.constraints, compiler.sparql)


def _one(shapes: Graph, node: Node, predicate: URIRef) -> Node | None:
    values = list(shapes.objects(node, predicate))
    if len(values) > 1:
        raise Unsupported(f"{node}: several values of {predicate}")
    return values[0] if values else None


def _count(shapes: Graph, node: Node, predicate: URIRef) -> int | None:
    value = _one(shapes, node, predicate)
    if value is None:
        return None
    if not (isinstance(value, Literal) and isinstance(value.value, int)
            and not isinstance(value.value, bool) and value.value >= 0):
        raise Unsupported(f"{node}: {predicate} {value} is not a non-negative integer")
    return value.value


def _true(shapes: Graph, node: Node, predicate: URIRef) -> bool:
    value = _one(shapes, node, predicate)
    if value is None:
        return False
    if not (isinstance(value, Literal) and isinstance(value.value, bool)):
        raise Unsupported(f"{node}: {predicate} {value} is not a boolean")
    return value.value


def _list(shapes: Graph, head: Node) -> list[Node]:
    if head != RDF.nil and (head, RDF.first, None) not in shapes:
        raise Unsupported(f"{head} is not an RDF list")
    return list(Collection(shapes, head))


class _Compiler:
    def __init__(self, shapes: Graph):
        self.g = shapes
        self.constraints: list[Constraint] = []
        self.sparql: list = []
        self._prologues: dict[Node, str] = {}

    # shapes and their parameters

    def _check_parameters(self, shape: Node) -> None:
        for predicate in set(self.g.predicates(shape, None)):
            if str(predicate).startswith(str(SH)) and predicate not in HANDLED | IGNORED:
                raise Unsupported(f"{shape}: {predicate} is not implemented")

    def _severity(self, shape: Node) -> URIRef:
        severity = _one(self.g, shape, SH.severity)
        return severity if isinstance(severity, URIRef) else SH.Violation

    def _path(self, shape: Node) -> tuple[Node | None, str | None, bool]:
        """(the path's predicate, the SPARQL property path, whether it is inverse) of `shape`;
        (None, None, False) without a path."""
        path = _one(self.g, shape, SH.path)
        if path is None:
            return None, None, False
        if isinstance(path, URIRef):
            return path, sparql_term(path), False
        inverse = _one(self.g, path, SH.inversePath)
        if isinstance(inverse, URIRef) and set(self.g.predicate_objects(path)) == {
                (SH.inversePath, inverse)}:
            return inverse, "^" + sparql_term(inverse), True
        raise Unsupported(f"{shape}: only IRI and inverse IRI paths are implemented")

    def _focus(self, shape: Node) -> Callable[[Context, str], str]:
        """The focus nodes of `shape`'s targets, as a group binding the given variable."""
        classes = sorted(self.g.objects(shape, SH.targetClass), key=str)
        nodes = [sparql_term(n) for n in self.g.objects(shape, SH.targetNode)]
        subjects_of = [sparql_term(p) for p in self.g.objects(shape, SH.targetSubjectsOf)]
        objects_of = [sparql_term(p) for p in self.g.objects(shape, SH.targetObjectsOf)]
        if not all(isinstance(c, URIRef) for c in classes):
            raise Unsupported(f"{shape}: a target class that is not an IRI")

        def focus(ctx: Context, var: str) -> str:
            parts = []
            if classes:
                members = sorted({sparql_term(c) for cls in classes for c in ctx.closure(cls)})
                t = ctx.var("t")
                parts.append(f"{{ VALUES {t} {{ {' '.join(members)} }} {var} "
                             f"<{RDF.type}> {t} }}")
            if nodes:
                parts.append(f"{{ VALUES {var} {{ {' '.join(nodes)} }} }}")
            parts += [f"{{ {var} {p} {ctx.var('o')} }}" for p in subjects_of]
            parts += [f"{{ {ctx.var('s')} {p} {var} }}" for p in objects_of]
            # no DISTINCT: a node reached twice (typed with two target classes) only repeats
            # rows, and every count below is COUNT(DISTINCT ...); Checker.check drops repeats
            return f"{{ {' UNION '.join(parts)} }}"

        return focus

    def top_level(self, shape: Node) -> None:
        if _true(self.g, shape, SH.deactivated):
            return
        self._check_parameters(shape)
        focus = self._focus(shape)
        self._shape(shape, focus, shape)

    def _shape(self, shape: Node, focus: Callable[[Context, str], str], root: Node) -> None:
        """The constraints of `shape` (node or property shape) on the nodes `focus` yields;
        `root` is the top-level shape it is reached from."""
        path, sparql_path, inverse = self._path(shape)
        severity = self._severity(shape)
        owner = shape if isinstance(shape, URIRef) else root

        def add(component: URIRef, query, reports_value: bool, python_test=None) -> None:
            self.constraints.append(Constraint(shape, owner, component, severity, query,
                                                reports_value, path, inverse, python_test))

        def values(ctx: Context, f: str) -> str:
            """The pattern binding ?v to each value node of `f`."""
            return f"{f} {sparql_path} ?v ." if sparql_path else f"BIND({f} AS ?v)"

        # node tests on each value node: one query each, the failing (focus, value) pairs
        for component, test in self._value_tests(shape, top=True):
            def query(ctx: Context, f: str, test=test) -> str:
                return (f"SELECT ?f ?v WHERE {{ {focus(ctx, f)} {values(ctx, f)} "
                        f"FILTER(!COALESCE({test(ctx, '?v')}, false)) }}")
            add(component, query, True)

        minimum = _count(self.g, shape, SH.minCount)
        maximum = _count(self.g, shape, SH.maxCount)
        if (minimum is not None or maximum is not None) and sparql_path is None:
            raise Unsupported(f"{shape}: sh:minCount/sh:maxCount on a node shape")
        if minimum:
            add(SH.MinCountConstraintComponent,
                lambda ctx, f, n=minimum: (
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} FILTER NOT EXISTS {{ {f} {sparql_path} "
                    f"?v }} }}" if n == 1 else
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} OPTIONAL {{ {f} {sparql_path} ?v }} }} "
                    f"GROUP BY ?f HAVING (COUNT(DISTINCT ?v) < {n})"), False)
        if maximum is not None:
            add(SH.MaxCountConstraintComponent,
                lambda ctx, f, n=maximum: (
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} {f} {sparql_path} ?v }} "
                    f"GROUP BY ?f HAVING (COUNT(DISTINCT ?v) > {n})"), False)

        has_value = _one(self.g, shape, SH.hasValue)
        if has_value is not None:
            term = sparql_term(has_value)
            add(SH.HasValueConstraintComponent,
                lambda ctx, f: (
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} FILTER NOT EXISTS {{ {f} {sparql_path} "
                    f"{term} }} }}" if sparql_path else
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} FILTER(!sameTerm({f}, {term})) }}"),
                False)

        if _true(self.g, shape, SH.uniqueLang):
            if sparql_path is None:
                raise Unsupported(f"{shape}: sh:uniqueLang on a node shape")
            add(SH.UniqueLangConstraintComponent,
                lambda ctx, f: (
                    f"SELECT ?f WHERE {{ {focus(ctx, f)} {f} {sparql_path} ?v "
                    f"FILTER(isLiteral(?v) && LANG(?v) != '') }} "
                    f"GROUP BY ?f (LCASE(LANG(?v)) AS ?lang) HAVING (COUNT(DISTINCT ?v) > 1)"),
                False)

        minimum_inclusive = _one(self.g, shape, SH.minInclusive)
        if minimum_inclusive is not None:
            if not isinstance(minimum_inclusive, Literal):
                raise Unsupported(f"{shape}: sh:minInclusive {minimum_inclusive}")
            def range_query(ctx: Context, f: str, keep: str | None = None) -> str:
                if keep is None:
                    return f"SELECT DISTINCT ?v WHERE {{ {focus(ctx, f)} {values(ctx, f)} }}"
                return f"SELECT ?f ?v WHERE {{ {focus(ctx, f)} {values(ctx, f)} {keep} }}"
            add(SH.MinInclusiveConstraintComponent, range_query, True,
                python_test=_min_inclusive(minimum_inclusive))

        self._qualified(shape, focus, sparql_path, add)

        for prop in sorted(self.g.objects(shape, SH.property), key=str):
            if _true(self.g, prop, SH.deactivated):
                continue
            self._check_parameters(prop)
            if _one(self.g, prop, SH.path) is None:
                raise Unsupported(f"{prop}: a property shape without sh:path")
            if sparql_path is not None:
                raise Unsupported(f"{shape}: sh:property on a property shape")
            self._shape(prop, focus, owner)

        for constraint in sorted(self.g.objects(shape, SH.sparql), key=str):
            if sparql_path is not None:
                raise Unsupported(f"{shape}: SPARQL constraints on property shapes ($PATH)")
            self._sparql(shape, owner, constraint, focus)

    def _qualified(self, shape, focus, sparql_path, add) -> None:
        qualified = _one(self.g, shape, SH.qualifiedValueShape)
        low = _count(self.g, shape, SH.qualifiedMinCount)
        high = _count(self.g, shape, SH.qualifiedMaxCount)
        if qualified is None:
            if low is not None or high is not None:
                raise Unsupported(f"{shape}: a qualified count without sh:qualifiedValueShape")
            return
        if sparql_path is None:
            raise Unsupported(f"{shape}: sh:qualifiedValueShape on a node shape")
        if _true(self.g, shape, SH.qualifiedValueShapesDisjoint):
            raise Unsupported(f"{shape}: sh:qualifiedValueShapesDisjoint is not implemented")
        conforms_to = self._conforms(qualified)
        for component, bound, op in ((SH.QualifiedMinCountConstraintComponent, low, "<"),
                                     (SH.QualifiedMaxCountConstraintComponent, high, ">")):
            if bound is None:
                continue
            add(component, lambda ctx, f, bound=bound, op=op: (
                f"SELECT ?f WHERE {{ {focus(ctx, f)} OPTIONAL {{ {f} {sparql_path} ?v "
                f"FILTER(COALESCE({conforms_to(ctx, '?v')}, false)) }} }} "
                f"GROUP BY ?f HAVING (COUNT(DISTINCT ?v) {op} {bound})"), False)

    def _value_tests(self, shape: Node, top: bool) -> list[tuple[URIRef, Test]]:
        """The node tests of `shape` that apply to each value node, by constraint component."""
        g, tests = self.g, []
        for cls in sorted(g.objects(shape, SH["class"]), key=str):
            if not isinstance(cls, URIRef):
                raise Unsupported(f"{shape}: sh:class {cls} is not an IRI")

            def class_test(ctx: Context, x: str, cls=cls) -> str:
                t = ctx.var("t")
                members = " ".join(sparql_term(c) for c in ctx.closure(cls))
                return f"EXISTS {{ {x} <{RDF.type}> {t} . VALUES {t} {{ {members} }} }}"
            tests.append((SH.ClassConstraintComponent, class_test))

        datatype = _one(g, shape, SH.datatype)
        if datatype is not None:
            if not isinstance(datatype, URIRef) or datatype in (RDFS.Literal, RDFS.Datatype):
                raise Unsupported(f"{shape}: sh:datatype {datatype} is not implemented")

            dt, plain = sparql_term(datatype), datatype in (XSD.string, RDF.langString)

            def datatype_test(ctx: Context, x: str, dt: str = dt, plain: bool = plain) -> str:
                test = f"(isLiteral({x}) && DATATYPE({x}) = {dt}"
                if not plain:
                    test += (f" && NOT EXISTS {{ GRAPH {ILL_TYPED_GRAPH} {{ {ctx.var('m')} "
                             f"{ILL_TYPED_MARK} {x} }} }}")
                return test + ")"
            tests.append((SH.DatatypeConstraintComponent, datatype_test))

        kind = _one(g, shape, SH.nodeKind)
        if kind is not None:
            if kind not in _NODE_KINDS:
                raise Unsupported(f"{shape}: sh:nodeKind {kind}")
            tests.append((SH.NodeKindConstraintComponent,
                          lambda ctx, x, k=_NODE_KINDS[kind]: k.format(x=x)))

        pattern = _one(g, shape, SH.pattern)
        if pattern is not None:
            tests.append((SH.PatternConstraintComponent, self._pattern(shape, pattern)))
        elif _one(g, shape, SH.flags) is not None:
            raise Unsupported(f"{shape}: sh:flags without sh:pattern")

        members = _one(g, shape, SH["in"])
        if members is not None:
            terms = [sparql_term(m) for m in _list(g, members)]
            tests.append((SH.InConstraintComponent, lambda ctx, x: "(" + (" || ".join(
                f"sameTerm({x}, {t})" for t in terms) or "false") + ")"))

        languages = _one(g, shape, SH.languageIn)
        if languages is not None:
            tags = []
            for tag in _list(g, languages):
                if not (isinstance(tag, Literal) and isinstance(tag.value, str)) or \
                        str(tag) == "*":
                    raise Unsupported(f"{shape}: sh:languageIn {tag}")
                tags.append(_string(str(tag).lower()))
            listed = ", ".join(tags)
            tests.append((SH.LanguageInConstraintComponent, lambda ctx, x: (
                f"(isLiteral({x}) && LANG({x}) != '' && (LCASE(LANG({x})) IN ({listed}) || "
                f"LCASE(STRBEFORE(LANG({x}), '-')) IN ({listed})))") if tags else "false"))

        for component, predicate, joiner in ((SH.OrConstraintComponent, SH["or"], "or"),
                                             (SH.XoneConstraintComponent, SH.xone, "xone")):
            for head in sorted(g.objects(shape, predicate), key=str):
                members_ = [self._conforms(s) for s in _list(g, head)]
                tests.append((component, _combine(members_, joiner)))
        if not top and _one(g, shape, SH.hasValue) is not None:
            value = sparql_term(_one(g, shape, SH.hasValue))
            tests.append((SH.HasValueConstraintComponent,
                          lambda ctx, x: f"sameTerm({x}, {value})"))
        return tests

    def _pattern(self, shape: Node, pattern: Node) -> Test:
        if not isinstance(pattern, Literal) or not _SAFE_REGEX.fullmatch(str(pattern)):
            raise Unsupported(f"{shape}: sh:pattern {pattern!r} uses syntax whose meaning may "
                              "differ between Python's re and SPARQL REGEX")
        flags = _one(self.g, shape, SH.flags)
        # pySHACL honours only the i and m flags (string_based_constraints.py)
        kept = "".join(f for f in "im" if flags is not None and f in str(flags).lower())
        regex, flag_text = _string(str(pattern)), _string(kept)
        return lambda ctx, x: f"(!isBlank({x}) && REGEX(STR({x}), {regex}, {flag_text}))"

    def _conforms(self, shape: Node) -> Test:
        """A test that is true when the node conforms to the (nested) `shape`."""
        self._check_parameters(shape)
        for predicate in (SH.property, SH.sparql, SH.uniqueLang, SH.minInclusive,
                          SH.qualifiedValueShape, SH.deactivated, *_TARGETS):
            if (shape, predicate, None) in self.g:
                raise Unsupported(f"{shape}: {predicate} inside sh:or/sh:xone/"
                                  "sh:qualifiedValueShape is not implemented")
        _, sparql_path, _ = self._path(shape)
        minimum = _count(self.g, shape, SH.minCount)
        maximum = _count(self.g, shape, SH.maxCount)
        if sparql_path is None:
            if minimum is not None or maximum is not None:
                raise Unsupported(f"{shape}: sh:minCount/sh:maxCount on a node shape")
            return _combine([t for _, t in self._value_tests(shape, top=False)], "and")
        if (minimum or 0) > 1 or (maximum or 0) > 1:
            raise Unsupported(f"{shape}: nested counts above 1 are not implemented")
        has_value = _one(self.g, shape, SH.hasValue)
        value_test = _combine([t for _, t in self._value_tests(shape, top=True)], "and")
        any_value_tests = bool(self._value_tests(shape, top=True))

        def test(ctx: Context, x: str) -> str:
            parts = []
            if minimum == 1:
                parts.append(f"EXISTS {{ {x} {sparql_path} {ctx.var('y')} }}")
            if maximum == 0:
                parts.append(f"NOT EXISTS {{ {x} {sparql_path} {ctx.var('y')} }}")
            elif maximum == 1:
                a, b = ctx.var("y"), ctx.var("y")
                parts.append(f"NOT EXISTS {{ {x} {sparql_path} {a} . {x} {sparql_path} {b} "
                             f"FILTER(!sameTerm({a}, {b})) }}")
            if has_value is not None:
                parts.append(f"EXISTS {{ {x} {sparql_path} {sparql_term(has_value)} }}")
            if any_value_tests:
                y = ctx.var("y")
                parts.append(f"NOT EXISTS {{ {x} {sparql_path} {y} FILTER(!COALESCE("
                             f"{value_test(ctx, y)}, false)) }}")
            return "(" + (" && ".join(parts) or "true") + ")"

        return test

    # SHACL-SPARQL

    def _prologue(self, constraint: Node) -> str:
        lines = {}
        for source in self.g.objects(constraint, SH.prefixes):
            for declaration in self.g.objects(source, SH.declare):
                prefix = _one(self.g, declaration, SH.prefix)
                namespace = _one(self.g, declaration, SH.namespace)
                if prefix is None or namespace is None:
                    raise Unsupported(f"{source}: an incomplete sh:declare")
                lines[str(prefix)] = f"PREFIX {prefix}: <{namespace}>"
        return "\n".join(lines[p] for p in sorted(lines))

    def _sparql(self, shape: Node, owner: Node, constraint: Node, focus) -> None:
        known = {SH.select, SH.prefixes, SH.message, SH.severity, SH.deactivated, RDF.type,
                 RDFS.comment, RDFS.label}
        for predicate in set(self.g.predicates(constraint, None)):
            if predicate not in known:
                raise Unsupported(f"{constraint}: {predicate} on a SPARQL constraint")
        if _true(self.g, constraint, SH.deactivated):
            return
        select = _one(self.g, constraint, SH.select)
        if not isinstance(select, Literal):
            raise Unsupported(f"{shape}: a SPARQL constraint without sh:select")
        text = str(select)
        # strip IRIs, strings and comments before looking for keywords
        bare = re.sub(r"<[^<>\s]*>", " ", text)
        bare = re.sub(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|'
                      r"'(?:[^'\\\n]|\\.)*'", " ", bare)
        bare = re.sub(r"#[^\n]*", " ", bare)
        if len(re.findall(r"\bSELECT\b", bare, re.IGNORECASE)) != 1 or _REFUSED_SPARQL.search(bare) \
                or _REFUSED_VARIABLES.search(bare):
            raise Unsupported(f"{shape}: its SPARQL constraint uses a feature (a sub-query, "
                              "MINUS, VALUES, aggregates, LIMIT...) whose set-at-a-time "
                              "evaluation could differ from pre-binding $this")
        # $this must be projected and bound by the first triple pattern of the WHERE clause,
        # so that every solution binds it exactly as pre-binding would.
        head = re.match(r"\s*SELECT\s+(?:DISTINCT\s+|REDUCED\s+)?([^{]*?)(?:WHERE\s*)?\{\s*"
                        r"[$?]this\s", bare, re.IGNORECASE)
        if not head or not re.search(r"[$?]this\b", head.group(1)):
            raise Unsupported(f"{shape}: its SPARQL constraint does not start by binding and "
                              "projecting $this")
        self.sparql.append((shape, owner, constraint, self._severity(shape),
                            self._prologue(constraint), text, focus))


def _combine(tests: list[Test], how: str) -> Test:
    def test(ctx: Context, x: str) -> str:
        parts = [t(ctx, x) for t in tests]
        if how == "and":
            return "(" + (" && ".join(parts) or "true") + ")"
        if how == "or":
            return "(" + (" || ".join(parts) or "false") + ")"
        return "((" + (" + ".join(f"IF(COALESCE({p}, false), 1, 0)" for p in parts) or "0") + \
            ") = 1)"
    return test


def _min_inclusive(minimum: Literal) -> Callable[[Node], bool]:
    """pySHACL's sh:minInclusive test on one value node (value_range_constraints.py)."""
    try:
        from pyshacl.rdfutil.compare import compare_literal
    except ImportError as exc:
        raise Unsupported(f"this pySHACL has no {exc}: the fast check mirrors pySHACL 0.40") \
            from None

    minimum_is_string = isinstance(minimum.value, str)

    def test(value: Node) -> bool:
        if not isinstance(value, Literal):
            return False
        if minimum_is_string != isinstance(value.value, str):
            return False
        try:
            return compare_literal(value, minimum) >= 0
        except (TypeError, NotImplementedError):
            return False
    return test
