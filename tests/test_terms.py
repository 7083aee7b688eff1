"""The term converter (ikmkg.terms) between pyoxigraph and rdflib: generated terms go both ways
and come back as they were, lexical forms, datatypes, language tags and labels included."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ikmkg.terms import to_oxigraph, to_rdflib

# Ill-typed booleans are generated on purpose; rdflib warns about each.
pytestmark = pytest.mark.filterwarnings("ignore:Parsing weird boolean")

#: Every character but surrogates (which neither library can hold): controls, NUL, quotes,
#: backslashes, non-BMP.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
#: IRIs (RFC 3987 paths): letters of any script, digits, unreserved and sub-delimiters.
IRIS = st.builds(lambda scheme, rest: f"{scheme}{rest}",
                 st.sampled_from(["http://example.org/", "urn:x:", "https://w3id.org/ikmkg/id/"]),
                 st.text(st.one_of(st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd")),
                                   st.sampled_from("-._~/:@!$&'()*+,;=")), max_size=20))
LABELS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,15}", fullmatch=True)
#: BCP 47 tags: language, script, region, in any case (`id`, `en-US`, `zh-Hant-TW`, `ID-id`).
LANGUAGES = st.from_regex(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?",
                          fullmatch=True)
NUMBERS = st.from_regex(r"[+-]?[0-9]{1,6}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)
DATATYPES = st.sampled_from([XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.boolean,
                             XSD.date, XSD.dateTime, XSD.gYear, XSD.int, XSD.nonNegativeInteger,
                             XSD.hexBinary, XSD.anyURI, URIRef("https://w3id.org/ikmkg/dt#x")])
#: Lexical forms: numbers in every spelling, and any text (ill-typed for most datatypes).
LEXICAL = st.one_of(NUMBERS, st.text(CHARACTERS, max_size=20),
                    st.sampled_from(["1.0", "01", "4400000.0", "1E3", "-0", "true", "1",
                                     "2017-12-26", "  7 "]))


def ox_terms() -> st.SearchStrategy:
    return st.one_of(
        IRIS.map(ox.NamedNode),
        LABELS.map(ox.BlankNode),
        st.text(CHARACTERS, max_size=20).map(ox.Literal),
        st.builds(lambda v, lang: ox.Literal(v, language=lang), st.text(CHARACTERS, max_size=20),
                  LANGUAGES),
        st.builds(lambda v, dt: ox.Literal(v, datatype=ox.NamedNode(str(dt))), LEXICAL,
                  st.one_of(DATATYPES, st.just(XSD.string))),
    )


def rdflib_terms() -> st.SearchStrategy:
    return st.one_of(
        IRIS.map(URIRef),
        LABELS.map(BNode),
        st.text(CHARACTERS, max_size=20).map(Literal),
        st.builds(lambda v, lang: Literal(v, lang=lang), st.text(CHARACTERS, max_size=20),
                  LANGUAGES),
        st.builds(lambda v, dt: Literal(v, datatype=dt, normalize=False), LEXICAL, DATATYPES),
    )


def exact(term) -> tuple:  # noqa: ANN001 - an rdflib term
    """Everything that tells rdflib terms apart (rdflib's == ignores the case of tags)."""
    if isinstance(term, Literal):
        return (Literal, str(term), term.datatype, term.language)
    return (type(term), str(term))


@settings(max_examples=300, deadline=None)
@given(ox_terms())
def test_oxigraph_terms_come_back_exactly(term):
    back = to_oxigraph(to_rdflib(term))
    assert back == term
    assert str(back) == str(term)  # N-Triples form: lexical form, datatype, tag, label


@settings(max_examples=300, deadline=None)
@given(rdflib_terms())
def test_rdflib_terms_come_back_exactly(term):
    """Exactly, up to the two RDF 1.1 identities: a tag's case and "x"^^xsd:string = "x"."""
    back = to_rdflib(to_oxigraph(term))
    if isinstance(term, Literal) and term.language:
        term = Literal(str(term), lang=term.language.lower())
    assert exact(back) == exact(term)


@pytest.mark.parametrize("lexical,datatype", [
    ("1.0", XSD.decimal), ("01", XSD.integer), ("4400000.0", XSD.double), ("1E3", XSD.double),
    ("4400000.0", XSD.decimal), ("+5", XSD.integer), ("1", XSD.boolean),
])
def test_lexical_forms_are_kept(lexical, datatype):
    literal = to_rdflib(ox.Literal(lexical, datatype=ox.NamedNode(str(datatype))))
    assert str(literal) == lexical and literal.datatype == datatype


def test_xsd_string_is_the_plain_literal_rdflib_parses():
    for term in (ox.Literal("x"), ox.Literal("x", datatype=ox.NamedNode(str(XSD.string)))):
        back = to_rdflib(term)
        assert exact(back) == exact(Literal("x"))
    assert to_oxigraph(Literal("x", datatype=XSD.string)) == ox.Literal("x")


def test_language_tags_and_controls():
    back = to_rdflib(ox.Literal("a\x00\x07\n\"\\b", language="en-US"))
    assert exact(back) == (Literal, "a\x00\x07\n\"\\b", None, "en-us")
    assert to_oxigraph(back) == ox.Literal("a\x00\x07\n\"\\b", language="en-us")
    assert back.datatype is None and RDF.langString != back.datatype


def test_unbound_and_non_terms():
    assert to_rdflib(None) is None
    with pytest.raises(TypeError):
        to_oxigraph("not a term")
