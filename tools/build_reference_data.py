"""Build the reference-derived Turtle files of ikmkg from the tables in `sources/reference/`.

The four vetted CSV tables (and the source-key table of their README) become five files:

    data/provinces.ttl      38 provinces, their codes, the 2017 and 2025 rosters
    data/places.ttl         regencies, cities, kecamatan, a desa, Krajan; territorial assignments;
                            the countries
    data/products.ttl       product categories, cooperation sectors, KBLI 2020 codes
    data/organisations.ttl  the six organisations, the three people, Ditjen IKM's renaming
    data/sources.ttl        code schemes, source keys, the reference tables, verification statuses

Nothing is filled that the tables do not give: an empty cell writes no triple. Every entity is
`prov:wasDerivedFrom` its table and has `dcterms:source` for each key of its row's `source`
cell; every code is a node of its own scheme (`id/code/{scheme}/{notation}`), because BPS and
Kemendagri reuse the same numbers for different provinces.

The output is deterministic (subjects, predicates and objects sorted; no blank nodes), so the
committed files can be checked against a rebuild (`tests/test_reference_data.py`, `--check`).

Usage:
    python tools/build_reference_data.py                 # rewrite data/*.ttl
    python tools/build_reference_data.py --out DIR       # write elsewhere
    python tools/build_reference_data.py --check         # exit 1 if data/ is out of date
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, PROV, RDF, RDFS, SDO, SKOS, XSD

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # run as a script from a checkout without an install
    sys.path.insert(0, str(PROJECT_DIR))

from ikmkg.namespaces import IKM, WD, bind_prefixes, prefixes  # noqa: E402
from ikmkg.settings import CANONICAL_BASE  # noqa: E402

REFERENCE_DIR = PROJECT_DIR / "sources" / "reference"
DATA_DIR = PROJECT_DIR / "data"

ID = Namespace(CANONICAL_BASE + "id/")
STATUS_SCHEME = ID["scheme/status"]
UNVERIFIED = ID["status/unverified"]

#: Output file -> one-line description written at its top.
OUTPUT_FILES = {
    "provinces.ttl": "The 38 provinces of Indonesia, their codes, and the 2017 and 2025 rosters.",
    "places.ttl": "Regencies, cities, kecamatan, desa, localities, their codes and parent areas; "
                  "countries.",
    "products.ttl": "Product categories and cooperation sectors with their KBLI 2020 codes.",
    "organisations.ttl": "Organisations and people named in the article (no posts or roles).",
    "sources.ttl": "Code schemes, reference sources and tables, verification statuses.",
}

#: Reference table file -> slug of its `id/source/reference-{slug}` node.
TABLES = {
    "provinces.csv": "provinces",
    "places.csv": "places",
    "products.csv": "products",
    "organisations_people.csv": "organisations-people",
}

#: Code schemes: slug -> (code class, short name, Indonesian label, English label, publisher,
#: vintage or None, source key). KMD2017 spans 2016-2020 in the README, so it has no vintage.
CODE_SCHEMES = {
    "bps-2023": (IKM.BPSCode, "BPS 2023", "Kode wilayah BPS 2023",
                 "BPS 2023 statistical area codes", "Badan Pusat Statistik (BPS)", "2023",
                 "BPS2023"),
    "bps-2020": (IKM.BPSCode, "BPS 2020", "Kode Wilayah Kerja Statistik BPS 2020 semester 2",
                 "BPS 2020 (semester 2) statistical area codes", "Badan Pusat Statistik (BPS)",
                 "2020", "BPS2020"),
    "kemendagri-2025": (IKM.KemendagriCode, "Kemendagri 2025",
                        "Kode wilayah Kemendagri 2025 (Kepmendagri 300.2.2-2138/2025)",
                        "Kemendagri 2025 area codes (Kepmendagri 300.2.2-2138/2025)",
                        "Kementerian Dalam Negeri (Kemendagri)", "2025", "KMD2025"),
    "kemendagri-2017": (IKM.KemendagriCode, "Kemendagri 2017",
                        "Kode wilayah Kemendagri sebelum pemekaran Papua 2022",
                        "Kemendagri area codes before the 2022 Papua split",
                        "Kementerian Dalam Negeri (Kemendagri)", None, "KMD2017"),
    "iso-3166-2": (IKM.ISO3166Code, "ISO 3166-2", "ISO 3166-2:ID (subdivisi Indonesia)",
                   "ISO 3166-2:ID (subdivisions of Indonesia)",
                   "International Organization for Standardization (ISO)", "2026", "ISO"),
    "kbli-2020": (IKM.KBLICode, "KBLI 2020", "Klasifikasi Baku Lapangan Usaha Indonesia 2020",
                  "Indonesian Standard Industrial Classification 2020 (KBLI 2020)",
                  "Badan Pusat Statistik (BPS)", "2020", "KBLI2020"),
}

#: Labels of the README's source keys: key -> (Indonesian, English). Descriptions come from the
#: README itself.
SOURCE_LABELS = {
    "KMD2025": ("Kode dan nama wilayah Kemendagri 2025", "Kemendagri 2025 area codes and names"),
    "KMD2017": ("Kode wilayah Kemendagri sebelum pemekaran Papua 2022",
                "Kemendagri area codes before the 2022 Papua split"),
    "BPS2020": ("Bridging kode BPS-Kemendagri 2020 semester 2",
                "BPS-Kemendagri code bridge, 2020 semester 2"),
    "BPS2023": ("Bridging kode BPS 2022-2023", "BPS 2022-2023 code bridge"),
    "ISO": ("ISO 3166-2:ID", "ISO 3166-2:ID"),
    "WD": ("QID Wikidata provinsi", "Wikidata province QIDs"),
    "WD2016": ("QID Wikidata kabupaten/kota (ekstrak 2016)",
               "Wikidata regency/city QIDs (2016 extract)"),
    "EST": ("Fakta pembentukan provinsi", "Province establishment facts"),
    "KBLI2020": ("Publikasi KBLI 2020 BPS", "BPS KBLI 2020 publication"),
    "JICA-PCR2016": ("Laporan penyelesaian proyek JICA 2016",
                     "JICA Project Completion Report 2016"),
    "ART": ("Artikel sumber (Republika, 26 Desember 2017)",
            "Source article (Republika, 26 December 2017)"),
    "news": ("Berita yang disebut dalam catatan baris", "News items named in the row's note"),
}

#: Products: name_id cell -> slug (the lead's article data refers to exactly these slugs).
PRODUCT_SLUGS = {
    "tenun ulos": "tenun-ulos",
    "komponen logam": "komponen-logam",
    "cokelat / kakao": "kakao",
    "rotan": "rotan",
    "alas kaki": "alas-kaki",
    "olahan lidah buaya (aloe vera)": "olahan-lidah-buaya",
    "kerajinan pewter (timah)": "kerajinan-pewter",
    "tahu": "tahu",
    "tempe": "tempe",
    "kerajinan perak dan emas": "kerajinan-perak-emas",
    "pengolahan kopi": "pengolahan-kopi",
    "komponen kapal": "komponen-kapal",
    "pengecoran logam": "pengecoran-logam",
    "kain pantai (pewarnaan)": "kain-pantai",
    "komponen otomotif": "komponen-otomotif",
}
#: The last rows of products.csv are the article's medium/long-term cooperation sectors.
SECTOR_SLUGS = {
    "alat transportasi": "alat-transportasi",
    "elektronika": "elektronika",
    "makanan dan minuman": "makanan-minuman",
}
#: English labels that translate the article's words where the table's `name_en` adds what other
#: sources say (materials, a furniture industry, processing; issue #15). The table's `name_en`
#: is kept in the row's editorial note, beside the note that says where it comes from.
PRODUCT_EN_LABELS = {
    "kain-pantai": "beach cloth (dyeing)",
    "rotan": "rattan",
    "kakao": "chocolate / cocoa",
}
#: Alternative labels, each taken word for word from the row's name_id cell.
PRODUCT_ALT_LABELS = {
    "kakao": ("cokelat", "kakao"),
    "olahan-lidah-buaya": ("aloe vera",),
}

#: Province alternative names the provinces.csv notes give (ISO names, a former name).
PROVINCE_ALT_LABELS = {
    "daerah-khusus-ibukota-jakarta": ("Jakarta Raya",),
    "daerah-istimewa-yogyakarta": ("Yogyakarta",),
    "papua-barat": ("Irian Jaya Barat",),
}

#: places.csv `kind` -> (class, IRI type segment, Indonesian prefix, English suffix).
PLACE_KINDS = {
    "kabupaten": (IKM.Regency, "regency", "Kabupaten", "Regency"),
    "kota": (IKM.City, "city", "Kota", "City"),
    "kecamatan": (IKM.District, "district", "Kecamatan", "District"),
    "desa": (IKM.Village, "village", "Desa", "Village"),
    "dusun/kampung (unverified)": (IKM.Locality, "locality", "", ""),
}

#: organisations_people.csv: the start of the name cell -> (slug, class, Indonesian label,
#: English label, abbreviation or None, country slug or None). Labels are the name cell without
#: its parenthesis; the English labels of the two Indonesian bodies are translations.
ORGANISATIONS = {
    "Kementerian Perindustrian Republik Indonesia": (
        "kemenperin", IKM.GovernmentAgency, "Kementerian Perindustrian Republik Indonesia",
        "Ministry of Industry of the Republic of Indonesia", "Kemenperin", "indonesia"),
    "Direktorat Jenderal Industri Kecil dan Menengah": (
        "ditjen-ikm", IKM.DirectorateGeneral, "Direktorat Jenderal Industri Kecil dan Menengah",
        "Directorate General of Small and Medium Industry", "Ditjen IKM", None),
    "Japan International Cooperation Agency": (
        "jica", IKM.GovernmentAgency, "Japan International Cooperation Agency",
        "Japan International Cooperation Agency", "JICA", "japan"),
    "Nomura Research Institute": (
        "nri", IKM.Company, "Nomura Research Institute, Ltd.", "Nomura Research Institute, Ltd.",
        "NRI", "japan"),
    "Republika": ("republika", IKM.NewsOrganisation, "Republika", "Republika", None, None),
    "Antara": ("antara", IKM.NewsOrganisation, "Antara", "Antara", None, "indonesia"),
}
#: Ditjen IKM is a unit of this organisation (the name cell ends with ", Kemenperin").
UNIT_OF = {"ditjen-ikm": "kemenperin"}


# --------------------------------------------------------------------------- helpers

def slugify(text: str) -> str:
    """Lower-case ASCII slug with words joined by `-` ("Papua Barat Daya" -> "papua-barat-daya")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def source_slug(key: str) -> str:
    """Slug of a README source key: "KMD2025" -> "kmd-2025", "JICA-PCR2016" -> "jica-pcr-2016"."""
    return re.sub(r"(?<=[A-Za-z])(?=\d)", "-", key).lower()


def read_table(ref_dir: Path, name: str) -> list[dict[str, str]]:
    with (ref_dir / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def readme_source_keys(ref_dir: Path) -> dict[str, tuple[str, str]]:
    """The README's "Source keys" table: key -> (description, vintage)."""
    text = (ref_dir / "README.md").read_text(encoding="utf-8")
    section = text.split("## Source keys", 1)[1].split("\n## ", 1)[0]
    keys = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("key", "---"):
            keys[cells[0]] = (cells[1].replace("`", ""), cells[2])
    return keys


def readme_files_table(ref_dir: Path) -> dict[str, str]:
    """The README's "Files" table: CSV file name -> what it is."""
    text = (ref_dir / "README.md").read_text(encoding="utf-8")
    found = {}
    for line in text.splitlines():
        match = re.match(r"\| `([a-z_]+\.csv)` \| \d+ \| (.+) \|$", line.strip())
        if match:
            found[match.group(1)] = match.group(2).replace("`", "")
    return found


def readme_surprise(ref_dir: Path, number: int) -> str:
    """Item `number` of the README's "Things worth knowing" list, as plain text."""
    text = (ref_dir / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"\n{number}\. (.+?)(?=\n\d+\. |\Z)", text, flags=re.S)
    if match is None:
        raise ValueError(f"README.md has no item {number}.")
    return " ".join(match.group(1).replace("**", "").split())


class Sources:
    """Maps `source` cells to `id/source/...` IRIs, refusing keys the README does not define."""

    def __init__(self, keys: Iterable[str]):
        self.iris = {key: ID[f"source/{source_slug(key)}"] for key in keys}

    def parse(self, cell: str, strict: bool = True) -> list[URIRef]:
        """IRIs of the keys in `cell` ("KMD2025; BPS2023+BPS2020; ISO").

        A key with a qualifier ("KMD2025 (absence)") counts as the key. With `strict`, an
        unknown item raises ValueError; otherwise it is skipped (free-text sources).
        """
        found = []
        for item in re.split(r"[;+]", cell):
            key = re.sub(r"\s*\(.*\)$", "", item.strip())
            if key in self.iris:
                found.append(self.iris[key])
            elif strict and key:
                raise ValueError(f"unknown source key {item.strip()!r} in {cell!r}")
        return found

    def __getitem__(self, key: str) -> URIRef:
        return self.iris[key]


def new_graph() -> Graph:
    return bind_prefixes(Graph())


def add_labels(g: Graph, s: URIRef, label_id: str, label_en: str, concept: bool = False) -> None:
    g.add((s, RDFS.label, Literal(label_id, lang="id")))
    g.add((s, RDFS.label, Literal(label_en, lang="en")))
    if concept:
        g.add((s, SKOS.prefLabel, Literal(label_id, lang="id")))
        g.add((s, SKOS.prefLabel, Literal(label_en, lang="en")))


def add_provenance(g: Graph, s: URIRef, table: str, sources: Iterable[URIRef]) -> None:
    g.add((s, PROV.wasDerivedFrom, ID[f"source/reference-{TABLES[table]}"]))
    for source in sources:
        g.add((s, DCTERMS.source, source))


def add_code(g: Graph, entity: URIRef, scheme: str, notation: str, table: str, sources: Sources,
             owner: tuple[str, str] | None = None, title: str | None = None) -> URIRef:
    """Add the code node `id/code/{scheme}/{notation}` and link `entity` to it.

    Args:
        owner: the entity's (Indonesian, English) labels, named in the code's labels so that
            "BPS 2023 code 94 (Papua)" cannot be mistaken for Kemendagri 94 (Papua Tengah).
        title: the code's own title (KBLI), used as its Indonesian label instead.
    """
    cls, short, *_, source_key = CODE_SCHEMES[scheme]
    code = ID[f"code/{scheme}/{notation}"]
    g.add((code, RDF.type, cls))
    g.add((code, SKOS.notation, Literal(notation)))
    g.add((code, IKM.codeScheme, ID[f"code-scheme/{scheme}"]))
    if title is not None:
        add_labels(g, code, title, f"{short} code {notation}")
    elif owner is not None:
        add_labels(g, code, f"Kode {short} {notation} ({owner[0]})",
                   f"{short} code {notation} ({owner[1]})")
    else:
        add_labels(g, code, f"Kode {short} {notation}", f"{short} code {notation}")
    add_provenance(g, code, table, [sources[source_key]])
    g.add((entity, IKM.kbliCode if scheme == "kbli-2020" else IKM.hasCode, code))
    return code


def date_literal(text: str) -> Literal:
    """xsd:date for YYYY-MM-DD, xsd:gYear for YYYY."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return Literal(text, datatype=XSD.date)
    if re.fullmatch(r"\d{4}", text):
        return Literal(text, datatype=XSD.gYear)
    raise ValueError(f"not a date or year: {text!r}")


# --------------------------------------------------------------------------- provinces

def province_iri(name_id: str) -> URIRef:
    return ID[f"province/{slugify(name_id)}"]


def build_provinces(rows: list[dict[str, str]], sources: Sources) -> Graph:
    g = new_graph()
    table = "provinces.csv"
    names = {row["name_id"] for row in rows}
    rosters = {
        "2017": (ID["province-set/2017"], "Provinsi Indonesia per Desember 2017",
                 "Provinces of Indonesia as of December 2017"),
        "2025": (ID["province-set/2025"], "Provinsi Indonesia menurut Kemendagri 2025",
                 "Provinces of Indonesia per Kemendagri 2025"),
    }
    for roster, label_id, label_en in rosters.values():
        g.add((roster, RDF.type, IKM.ProvinceRoster))
        add_labels(g, roster, label_id, label_en)
        add_provenance(g, roster, table, [])
    # The README dates the 2017 set to "Dec 2017"; the 2025 set is the KMD2025 list.
    g.add((rosters["2017"][0], DCTERMS.temporal, Literal("2017-12", datatype=XSD.gYearMonth)))
    g.add((rosters["2017"][0], RDFS.comment, Literal(
        "The 34 provinces that existed in December 2017 (in_2017_set=yes in provinces.csv); "
        "Papua then still contained Papua Selatan, Papua Tengah and Papua Pegunungan, and "
        "Papua Barat still contained Papua Barat Daya.", lang="en")))
    g.add((rosters["2025"][0], DCTERMS.temporal, Literal("2025", datatype=XSD.gYear)))
    g.add((rosters["2025"][0], DCTERMS.source, sources["KMD2025"]))

    for row in rows:
        s = province_iri(row["name_id"])
        row_sources = sources.parse(row["source"])
        g.add((s, RDF.type, IKM.Province))
        add_labels(g, s, row["name_id"], row["name_en"])
        for alt in PROVINCE_ALT_LABELS.get(slugify(row["name_id"]), ()):
            g.add((s, SKOS.altLabel, Literal(alt, lang="id")))
        add_provenance(g, s, table, row_sources)
        owner = (row["name_id"], row["name_en"])
        add_code(g, s, "bps-2023", row["bps_code"], table, sources, owner)
        if "BPS2020" in row["source"]:
            # README: for the 34 provinces of 2017 the BPS 2020 bridge codes equal BPS 2023.
            add_code(g, s, "bps-2020", row["bps_code"], table, sources, owner)
        add_code(g, s, "kemendagri-2025", row["kemendagri_code"], table, sources, owner)
        add_code(g, s, "iso-3166-2", row["iso_3166_2"], table, sources, owner)
        if row["wikidata"]:
            g.add((s, IKM.wikidata, WD[row["wikidata"]]))
        if row["established"]:
            g.add((s, IKM.established, date_literal(row["established"])))
        if row["parent_before_split"]:
            if row["parent_before_split"] not in names:
                raise ValueError(f"unknown parent province {row['parent_before_split']!r}")
            g.add((s, IKM.formedFrom, province_iri(row["parent_before_split"])))
        if row["note"]:
            g.add((s, SKOS.editorialNote, Literal(row["note"], lang="en")))
        g.add((rosters["2025"][0], SKOS.member, s))
        if row["in_2017_set"] == "yes":
            g.add((rosters["2017"][0], SKOS.member, s))
    return g


# --------------------------------------------------------------------------- places

def place_slug(row: dict[str, str]) -> str:
    return slugify(re.sub(r"^(Kabupaten|Kota) ", "", row["name"]))


def place_labels(row: dict[str, str]) -> tuple[str, str]:
    """(Indonesian, English) label: "Kabupaten Bangka Barat" / "Bangka Barat Regency"."""
    _, _, prefix_id, suffix_en = PLACE_KINDS[row["kind"]]
    bare = re.sub(r"^(Kabupaten|Kota) ", "", row["name"])
    if not prefix_id:
        return bare, bare
    return f"{prefix_id} {bare}", f"{bare} {suffix_en}"


def build_places(rows: list[dict[str, str]], provinces: list[dict[str, str]], sources: Sources,
                 ref_dir: Path) -> Graph:
    g = new_graph()
    table = "places.csv"
    province_labels = {p["name_id"]: (p["name_id"], p["name_en"]) for p in provinces}
    iris: dict[str, URIRef] = {}
    for row in rows:
        _, type_segment, *_ = PLACE_KINDS[row["kind"]]
        iris[row["name"]] = ID[f"{type_segment}/{place_slug(row)}"]
    labels = {row["name"]: place_labels(row) for row in rows}
    # Two places may share a slug (Kabupaten Tegal, Kota Tegal): their territorial assignments
    # then carry the type segment too, so that the IRIs stay distinct.
    slug_count: dict[str, int] = {}
    for row in rows:
        slug_count[place_slug(row)] = slug_count.get(place_slug(row), 0) + 1

    def territory_slug(row: dict[str, str]) -> str:
        slug = place_slug(row)
        return f"{PLACE_KINDS[row['kind']][1]}-{slug}" if slug_count[slug] > 1 else slug

    def assign(row, parent: URIRef, parent_labels: tuple[str, str], row_sources,
               valid_from: str = "", valid_until: str = "", legal_basis: str = "") -> None:
        t = ID[f"territory/{territory_slug(row)}--{str(parent).rsplit('/', 1)[1]}"]
        g.add((t, RDF.type, IKM.TerritorialAssignment))
        g.add((t, IKM.subdivision, iris[row["name"]]))
        g.add((t, IKM.parentArea, parent))
        when_id = when_en = ""
        if valid_from:
            g.add((t, IKM.validFrom, Literal(valid_from, datatype=XSD.date)))
            when_id, when_en = f" (sejak {valid_from})", f" (from {valid_from})"
        if valid_until:
            g.add((t, IKM.validUntil, Literal(valid_until, datatype=XSD.date)))
            when_id, when_en = f" (sampai {valid_until})", f" (until {valid_until})"
        if legal_basis:
            g.add((t, IKM.legalBasis, Literal(legal_basis)))
        place_id, place_en = labels[row["name"]]
        add_labels(g, t, f"{place_id} di {parent_labels[0]}{when_id}",
                   f"{place_en} in {parent_labels[1]}{when_en}")
        add_provenance(g, t, table, row_sources)

    for row in rows:
        s = iris[row["name"]]
        cls, *_ = PLACE_KINDS[row["kind"]]
        row_sources = sources.parse(row["source"])
        g.add((s, RDF.type, cls))
        add_labels(g, s, *labels[row["name"]])
        add_provenance(g, s, table, row_sources)
        g.add((s, IKM.namedInArticle, Literal(row["named_in_article"])))
        if row["note"]:
            g.add((s, SKOS.editorialNote, Literal(row["note"], lang="en")))
        if row["wikidata"]:
            g.add((s, IKM.wikidata, WD[row["wikidata"]]))
        for column, scheme in (("kemendagri_code", "kemendagri-2025"),
                               ("kemendagri_code_2017", "kemendagri-2017"),
                               ("bps_code", "bps-2023"), ("bps_code_2017", "bps-2020")):
            if row[column]:
                add_code(g, s, scheme, row[column], table, sources, labels[row["name"]])

        # A parent area follows from the official codes: only the KMD/BPS keys back it.
        code_sources = [src for src in row_sources if re.search(r"/(kmd|bps)-", str(src))]
        if row["kind"] in ("kabupaten", "kota"):
            then, now = row["province_2017"], row["province_now"]
            if then == now:
                assign(row, province_iri(now), province_labels[now], code_sources)
            else:
                # The note states the move: "moved from A to B (UU n/yyyy, inaugurated date)".
                move = re.search(r"moved from (.+?) to (.+?) \((UU [\d/]+), inaugurated "
                                 r"(\d{4}-\d{2}-\d{2})\)", row["note"])
                if move is None or move.group(1, 2) != (then, now):
                    raise ValueError(f"{row['name']}: province changed but the note gives no move")
                basis, date = move.group(3), move.group(4)
                assign(row, province_iri(then), province_labels[then],
                       [sources["KMD2017"], sources["BPS2020"]], valid_until=date)
                assign(row, province_iri(now), province_labels[now],
                       [sources["KMD2025"], sources["BPS2023"]], valid_from=date,
                       legal_basis=basis)
        elif row["kind"] in ("kecamatan", "desa"):
            # The note states the parent: "kecamatan in Kabupaten Klaten", "desa in Mojolaban".
            match = re.match(r"(?:kecamatan|desa) in ((?:Kabupaten )?\w+)", row["note"])
            if match is None or match.group(1) not in iris:
                raise ValueError(f"{row['name']}: the note names no known parent area")
            parent = match.group(1)
            assign(row, iris[parent], labels[parent], code_sources)
        else:
            # Krajan: the table gives no parent; its kind and the candidate parent are unverified.
            g.add((s, IKM.placeKind, Literal(row["kind"])))
            g.add((s, IKM.verificationStatus, UNVERIFIED))

    # Krajan probably lies in Desa Laban (README, surprise 1): a statement, never a direct triple.
    statement = ID["statement/krajan-in-laban"]
    g.add((statement, RDF.type, IKM.ReferenceStatement))
    g.add((statement, RDF.subject, iris["Krajan"]))
    g.add((statement, RDF.predicate, IKM.possibleParentArea))
    g.add((statement, RDF.object, iris["Laban"]))
    g.add((statement, IKM.verificationStatus, UNVERIFIED))
    add_labels(g, statement, "Krajan mungkin terletak di Desa Laban (belum terverifikasi)",
               "Krajan possibly lies in Laban Village (unverified)")
    g.add((statement, RDFS.comment, Literal(readme_surprise(ref_dir, 1), lang="en")))
    krajan = next(row for row in rows if row["name"] == "Krajan")
    add_provenance(g, statement, table, sources.parse(krajan["source"]))
    g.add((statement, PROV.wasDerivedFrom, ID["source/reference-readme"]))

    # The countries: Indonesia's QID is the one the README's WD source names ("Indonesia (Q252)").
    indonesia, japan = ID["country/indonesia"], ID["country/japan"]
    g.add((indonesia, RDF.type, IKM.Country))
    add_labels(g, indonesia, "Indonesia", "Indonesia")
    g.add((indonesia, IKM.wikidata, WD.Q252))
    g.add((indonesia, DCTERMS.source, sources["WD"]))
    g.add((indonesia, PROV.wasDerivedFrom, ID["source/reference-readme"]))
    g.add((japan, RDF.type, IKM.Country))
    add_labels(g, japan, "Jepang", "Japan")
    add_provenance(g, japan, "organisations_people.csv", [])
    return g


# --------------------------------------------------------------------------- products

def build_products(rows: list[dict[str, str]], sources: Sources) -> Graph:
    g = new_graph()
    table = "products.csv"
    names = [row["name_id"] for row in rows]
    if names != [*PRODUCT_SLUGS, *SECTOR_SLUGS]:
        raise ValueError(f"products.csv rows changed: {names}")
    schemes = {
        "products": (ID["scheme/products"], "Kategori produk IKM", "IKM product categories"),
        "sectors": (ID["scheme/cooperation-sectors"],
                    "Sektor kerja sama jangka menengah dan panjang",
                    "Medium- and long-term cooperation sectors"),
    }
    for scheme, label_id, label_en in schemes.values():
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        add_labels(g, scheme, label_id, label_en)
        add_provenance(g, scheme, table, [])
    for row in rows:
        if row["name_id"] in PRODUCT_SLUGS:
            slug = PRODUCT_SLUGS[row["name_id"]]
            s, cls, scheme = ID[f"product/{slug}"], IKM.ProductCategory, schemes["products"][0]
        else:
            slug = SECTOR_SLUGS[row["name_id"]]
            s, cls, scheme = ID[f"sector/{slug}"], IKM.IndustrySector, schemes["sectors"][0]
        g.add((s, RDF.type, cls))
        g.add((s, SKOS.inScheme, scheme))
        add_labels(g, s, row["name_id"], PRODUCT_EN_LABELS.get(slug, row["name_en"]), concept=True)
        if slug in PRODUCT_EN_LABELS:
            g.add((s, SKOS.editorialNote, Literal(
                f"English name in the reference table: '{row['name_en']}' (from the sources of the "
                "row's note, not the article's words)", lang="en")))
        for alt in PRODUCT_ALT_LABELS.get(slug, ()):
            g.add((s, SKOS.altLabel, Literal(alt, lang="id")))
        add_provenance(g, s, table, sources.parse(row["source"]))
        codes = row["kbli_2020_code"].split(";")
        titles = row["kbli_title"].split(";")
        if len(codes) != len(titles):
            raise ValueError(f"{row['name_id']}: {len(codes)} KBLI codes but {len(titles)} titles")
        for code, title in zip(codes, titles, strict=True):
            add_code(g, s, "kbli-2020", code.strip(), table, sources, title=title.strip())
        if row["wikidata"]:
            g.add((s, IKM.wikidata, WD[row["wikidata"]]))
        if row["note"]:
            g.add((s, SKOS.editorialNote, Literal(row["note"], lang="en")))
        if "UNVERIFIED" in row["note"]:
            g.add((s, IKM.verificationStatus, UNVERIFIED))
    return g


# --------------------------------------------------------------------------- organisations

def build_organisations(rows: list[dict[str, str]], sources: Sources) -> Graph:
    g = new_graph()
    table = "organisations_people.csv"
    seen = set()
    for row in rows:
        row_sources = sources.parse(row["source"], strict=False)
        comment = f"{row['note']}. Sources given in the reference table: {row['source']}."
        if row["kind"] == "person":
            s = ID[f"person/{slugify(row['name'])}"]
            g.add((s, RDF.type, FOAF.Person))
            g.add((s, RDF.type, SDO.Person))
            g.add((s, FOAF.name, Literal(row["name"])))
            add_labels(g, s, row["name"], row["name"])
        else:
            key = next((k for k in ORGANISATIONS if row["name"].startswith(k)), None)
            if key is None:
                raise ValueError(f"organisation not in ORGANISATIONS: {row['name']!r}")
            slug, cls, label_id, label_en, abbreviation, country = ORGANISATIONS[key]
            seen.add(key)
            s = ID[f"organisation/{slug}"]
            g.add((s, RDF.type, cls))
            add_labels(g, s, label_id, label_en)
            if abbreviation:
                if f"({abbreviation})" not in row["name"]:
                    raise ValueError(f"{abbreviation!r} is not in the name cell {row['name']!r}")
                g.add((s, SKOS.altLabel, Literal(abbreviation, lang="id")))
                g.add((s, SKOS.altLabel, Literal(abbreviation, lang="en")))
            if row["official_website"]:
                g.add((s, IKM.websiteDomain, Literal(row["official_website"])))
            if country:
                g.add((s, IKM.country, ID[f"country/{country}"]))
            if slug in UNIT_OF:
                parent = ID[f"organisation/{UNIT_OF[slug]}"]
                g.add((s, ORG.unitOf, parent))
                g.add((parent, ORG.hasUnit, s))
        if row["wikidata"]:
            g.add((s, IKM.wikidata, WD[row["wikidata"]]))
        g.add((s, SKOS.editorialNote, Literal(comment, lang="en")))
        add_provenance(g, s, table, row_sources)
    if seen != set(ORGANISATIONS):
        raise ValueError(f"organisations missing from the table: {set(ORGANISATIONS) - seen}")

    # Ditjen IKM's later name, from its note: a statement with its own source.
    ditjen = next(r for r in rows if r["name"].startswith("Direktorat Jenderal Industri Kecil"))
    rename = re.search(r"renamed (.+?) by Feb (\d{4}) \(Kontan (\d{4}-\d{2}-\d{2})\)",
                       ditjen["note"])
    if rename is None:
        raise ValueError("the Ditjen IKM note no longer states its renaming")
    statement = ID["statement/ditjen-ikm-renamed-ikma"]
    g.add((statement, RDF.type, IKM.ReferenceStatement))
    g.add((statement, RDF.subject, ID["organisation/ditjen-ikm"]))
    g.add((statement, RDF.predicate, IKM.laterName))
    g.add((statement, RDF.object, Literal(rename.group(1), lang="id")))
    add_labels(g, statement, "Ditjen IKM berganti nama menjadi Ditjen IKMA",
               "Ditjen IKM renamed Ditjen IKMA")
    g.add((statement, RDFS.comment, Literal(f"renamed by February {rename.group(2)}", lang="en")))
    add_provenance(g, statement, table, [ID["source/kontan-2019"]])
    return g


# --------------------------------------------------------------------------- sources

def build_sources(ref_dir: Path, sources: Sources) -> Graph:
    g = new_graph()
    readme = ID["source/reference-readme"]
    g.add((readme, RDF.type, IKM.ReferenceSource))
    g.add((readme, DCTERMS.title, Literal("README.md")))
    add_labels(g, readme, "Keterangan tabel rujukan (README.md)",
               "Description of the reference tables (README.md)")
    g.add((readme, RDFS.comment, Literal(
        "Explains every column of the reference tables, the source keys and what is verified; "
        "copied into the project at sources/reference/README.md.", lang="en")))

    described = readme_files_table(ref_dir)
    for file_name, slug in TABLES.items():
        s = ID[f"source/reference-{slug}"]
        g.add((s, RDF.type, IKM.ReferenceSource))
        g.add((s, DCTERMS.title, Literal(file_name)))
        add_labels(g, s, f"Tabel rujukan {file_name}", f"Reference table {file_name}")
        g.add((s, RDFS.comment, Literal(described[file_name], lang="en")))
        g.add((s, PROV.wasDerivedFrom, readme))

    for key, (description, vintage) in readme_source_keys(ref_dir).items():
        s = sources[key]
        label_id, label_en = SOURCE_LABELS[key]
        g.add((s, RDF.type, IKM.ReferenceSource))
        g.add((s, DCTERMS.identifier, Literal(key)))
        add_labels(g, s, f"{label_id} ({key})", f"{label_en} ({key})")
        g.add((s, RDFS.comment, Literal(f"{description}. Vintage: {vintage}.", lang="en")))
        g.add((s, PROV.wasDerivedFrom, readme))

    # The news item the organisations table cites for Ditjen IKM's renaming ("Kontan 2019-02-11").
    kontan = ID["source/kontan-2019"]
    g.add((kontan, RDF.type, IKM.ReferenceSource))
    add_labels(g, kontan, "Kontan, 11 Februari 2019", "Kontan, 11 February 2019")
    g.add((kontan, DCTERMS.date, Literal("2019-02-11", datatype=XSD.date)))
    g.add((kontan, RDFS.comment, Literal(
        "News item cited in organisations_people.csv for the renaming of Ditjen IKM to "
        "Direktorat Jenderal Industri Kecil, Menengah dan Aneka (IKMA).", lang="en")))
    add_provenance(g, kontan, "organisations_people.csv", [])

    for slug, (_, _, label_id, label_en, publisher, vintage, key) in CODE_SCHEMES.items():
        s = ID[f"code-scheme/{slug}"]
        g.add((s, RDF.type, IKM.CodeScheme))
        add_labels(g, s, label_id, label_en)
        g.add((s, DCTERMS.publisher, Literal(publisher)))
        if vintage:
            g.add((s, IKM.vintage, Literal(vintage, datatype=XSD.gYear)))
        g.add((s, DCTERMS.source, sources[key]))
        g.add((s, PROV.wasDerivedFrom, readme))
    g.add((ID["code-scheme/kemendagri-2017"], RDFS.comment, Literal(
        "Kemendagri codes in force before the 2022 Papua split, read from sources dated "
        "2016-2020 (KMD2017); the README gives no single vintage year.", lang="en")))
    g.add((ID["code-scheme/iso-3166-2"], RDFS.comment, Literal(
        "ISO 3166-2:ID as shipped in the 2026 packages pycountry 26.2.16 and iso3166-2 1.8.4.",
        lang="en")))

    # The scheme itself is described in data/programme.ttl with the article's statuses.
    statuses = {
        "unverified": ("belum terverifikasi", "unverified",
                       "Fakta atau pengenal yang belum dapat dipastikan oleh sumber rujukan.",
                       "A fact or identifier the reference sources could not confirm."),
        "ambiguous": ("ambigu", "ambiguous", "Sumber memungkinkan lebih dari satu penafsiran.",
                      "The source allows more than one reading."),
        "verified": ("terverifikasi", "verified", "Dipastikan oleh sumber rujukan.",
                     "Confirmed by a reference source."),
    }
    for slug, (label_id, label_en, definition_id, definition_en) in statuses.items():
        s = ID[f"status/{slug}"]
        g.add((s, RDF.type, IKM.Status))
        g.add((s, SKOS.inScheme, STATUS_SCHEME))
        add_labels(g, s, label_id, label_en, concept=True)
        g.add((s, SKOS.definition, Literal(definition_id, lang="id")))
        g.add((s, SKOS.definition, Literal(definition_en, lang="en")))
    return g


# --------------------------------------------------------------------------- output

_PN_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _iri(term: URIRef, names: list[tuple[str, str]], used: set[str]) -> str:
    text = str(term)
    if text.startswith(CANONICAL_BASE + "id/"):
        return f"<{text[len(CANONICAL_BASE):]}>"
    for prefix, ns in names:
        local = text[len(ns):]
        if text.startswith(ns) and _PN_LOCAL.match(local):
            used.add(prefix)
            return f"{prefix}:{local}"
    return f"<{text}>"


def _term(term, names: list[tuple[str, str]], used: set[str]) -> str:
    if isinstance(term, URIRef):
        return _iri(term, names, used)
    if not isinstance(term, Literal):
        raise TypeError(f"blank nodes are not written: {term!r}")
    quoted = '"' + "".join(_ESCAPES.get(c, c) for c in str(term)) + '"'
    if term.language:
        return f"{quoted}@{term.language}"
    if term.datatype and term.datatype != XSD.string:
        return f"{quoted}^^{_iri(term.datatype, names, used)}"
    return quoted


def to_turtle(graph: Graph, description: str) -> str:
    """Deterministic Turtle: `@base` for entity IRIs, subjects, predicates, objects sorted."""
    names = sorted(((p, ns) for p, ns in prefixes().items() if p != "id"),
                   key=lambda item: -len(item[1]))
    used: set[str] = set()
    blocks = []
    for s in sorted(set(graph.subjects()), key=str):
        verbs = sorted(("a" if p == RDF.type else _iri(p, names, used), p)
                       for p in set(graph.predicates(s)))
        lines = []
        for verb, p in verbs:  # "a" sorts before every prefixed name
            objects = sorted(_term(o, names, used) for o in graph.objects(s, p))
            lines.append(f"    {verb} " + " ,\n        ".join(objects))
        blocks.append(_iri(s, names, used) + "\n" + " ;\n".join(lines) + " .\n")
    header = [
        f"# {description}",
        "# Generated by tools/build_reference_data.py from sources/reference/*.csv: do not edit.",
        "",
        f"@base <{CANONICAL_BASE}> .",
        *(f"@prefix {p}: <{ns}> ." for p, ns in sorted(prefixes().items()) if p in used),
        "",
    ]
    return "\n".join(header) + "\n" + "\n".join(blocks)


def build(ref_dir: Path = REFERENCE_DIR) -> dict[str, str]:
    """Build every output file's text from the reference tables in `ref_dir`.

    Returns:
        File name (as in OUTPUT_FILES) -> Turtle text.

    Raises:
        ValueError: a table no longer says what this script relies on (a changed row, an
            unknown source key, a note without the expected statement).
    """
    sources = Sources(readme_source_keys(ref_dir))
    provinces = read_table(ref_dir, "provinces.csv")
    graphs = {
        "provinces.ttl": build_provinces(provinces, sources),
        "places.ttl": build_places(read_table(ref_dir, "places.csv"), provinces, sources, ref_dir),
        "products.ttl": build_products(read_table(ref_dir, "products.csv"), sources),
        "organisations.ttl": build_organisations(
            read_table(ref_dir, "organisations_people.csv"), sources),
        "sources.ttl": build_sources(ref_dir, sources),
    }
    texts = {}
    for name, graph in graphs.items():
        text = to_turtle(graph, OUTPUT_FILES[name])
        reparsed = Graph().parse(data=text, format="turtle")
        if len(reparsed) != len(graph) or set(reparsed) != set(graph):
            raise AssertionError(f"{name}: the written Turtle does not round-trip")
        texts[name] = text
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=REFERENCE_DIR,
                        help="folder holding the reference CSV files and README.md")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write the files to")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file in --out differs from a rebuild")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build(args.sources).items():
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date (run tools/build_reference_data.py): {', '.join(stale)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
