"""Vocabulary namespaces and the one PREFIXES map bound on every graph ikmkg builds."""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DefinedNamespace
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SDO, SH, SKOS, TIME, VOID, XSD

from ikmkg.settings import CANONICAL_BASE


# The project's own vocabulary under the canonical base (published IRIs follow --base-uri).
# tests/test_namespaces.py checks that this list and ontology/ikm.ttl define the same terms.
class IKM(DefinedNamespace):
    """The ikmkg ontology (ontology/ikm.ttl); a typo in a term raises instead of minting an IRI."""

    _NS = Namespace(CANONICAL_BASE + "ontology#")
    _fail = True

    # Classes
    AdministrativeArea: URIRef
    Aim: URIRef
    BPSCode: URIRef
    City: URIRef
    Code: URIRef
    CodeScheme: URIRef
    Company: URIRef
    Country: URIRef
    DirectorateGeneral: URIRef
    District: URIRef
    Enterprise: URIRef
    Event: URIRef
    GovernmentAgency: URIRef
    ISO3166Code: URIRef
    Industry: URIRef
    IndustryCentre: URIRef
    IndustrySector: URIRef
    InferenceRule: URIRef
    InferredStatement: URIRef
    KBLICode: URIRef
    KemendagriCode: URIRef
    Locality: URIRef
    NewsArticle: URIRef
    NewsOrganisation: URIRef
    Photograph: URIRef
    Place: URIRef
    PostHolding: URIRef
    ProductCategory: URIRef
    Programme: URIRef
    ProgrammePhase: URIRef
    Province: URIRef
    ProvinceEngagement: URIRef
    ProvinceRoster: URIRef
    ReferenceSource: URIRef
    ReferenceStatement: URIRef
    Regency: URIRef
    SelectionCriterion: URIRef
    SourceSentence: URIRef
    Status: URIRef
    Study: URIRef
    Survey: URIRef
    TerritorialAssignment: URIRef
    Village: URIRef
    WrittenStatement: URIRef

    # Properties
    aim: URIRef
    attestedOn: URIRef
    businessUnitCount: URIRef
    codeScheme: URIRef
    conductedBy: URIRef
    counterpart: URIRef
    country: URIRef
    dataSource: URIRef
    directQuote: URIRef
    established: URIRef
    exampleIndustry: URIRef
    formedFrom: URIRef
    hasCode: URIRef
    hasPhase: URIRef
    inferenceRule: URIRef
    inOrderTo: URIRef
    kbliCode: URIRef
    laterName: URIRef
    legalBasis: URIRef
    location: URIRef
    namedInArticle: URIRef
    needsInputOn: URIRef
    officialTitle: URIRef
    parentArea: URIRef
    participant: URIRef
    partner: URIRef
    period: URIRef
    phase: URIRef
    phaseOf: URIRef
    photoDate: URIRef
    placeKind: URIRef
    placeName: URIRef
    position: URIRef
    possibleParentArea: URIRef
    post: URIRef
    product: URIRef
    productFocus: URIRef
    province: URIRef
    refArea: URIRef
    reportedSpeech: URIRef
    saidBy: URIRef
    sector: URIRef
    selectionCriterion: URIRef
    site: URIRef
    statedAs: URIRef
    statedOn: URIRef
    status: URIRef
    statusYear: URIRef
    subdivision: URIRef
    surveys: URIRef
    validFrom: URIRef
    validUntil: URIRef
    verificationStatus: URIRef
    vintage: URIRef
    websiteDomain: URIRef
    wikidata: URIRef
    workerCount: URIRef

IKMSH = Namespace(CANONICAL_BASE + "shapes#")
WD = Namespace("http://www.wikidata.org/entity/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
#: DCAT 3 terms (rdflib's DCAT namespace predates `dcat:version` and friends).
DCAT = Namespace("http://www.w3.org/ns/dcat#")

#: Prefixes that are the same under every base.
STATIC_PREFIXES: dict[str, Namespace] = {
    "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD, "skos": SKOS, "org": ORG, "prov": PROV,
    "time": TIME, "qb": QB, "dcterms": DCTERMS, "foaf": FOAF, "schema": SDO, "sh": SH,
    "void": VOID, "dcat": DCAT, "wd": WD, "spdx": SPDX, "sd": SD,
}


def prefixes(base_uri: str = CANONICAL_BASE) -> dict[str, str]:
    """Every prefix ikmkg uses, with the project's own ones under `base_uri`."""
    own = {
        "ikm": f"{base_uri}ontology#",
        "ikmsh": f"{base_uri}shapes#",
        "id": f"{base_uri}id/",
    }
    return {**own, **{k: str(v) for k, v in STATIC_PREFIXES.items()}}


PREFIXES = prefixes()


def bind_prefixes(graph: Graph, base_uri: str = CANONICAL_BASE) -> Graph:
    """Bind every prefix on `graph` (replacing rdflib's defaults) and return it."""
    for prefix, ns in prefixes(base_uri).items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def sparql_prologue(base_uri: str = CANONICAL_BASE) -> str:
    """PREFIX declarations for every prefix, one per line (for query pages and named queries)."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes(base_uri).items())
