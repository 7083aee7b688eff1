"""Deterministic synthetic data in the project's own ontology, for the benchmark only.

Everything here is made up (seeded random numbers): provinces, regencies with their territorial
assignments, a product hierarchy, programme engagements and IKM enterprises (`ikm:Enterprise`)
with a location, a province, a product, a worker count and sometimes a status. Entity IRIs use
the `synthetic-` slug prefix so they can never be mistaken for the curated data.

    python bench/generate.py --triples 1000000 --out /tmp/ikmkg-bench-1m

writes a project folder (ontology/ copied from this checkout, data/bench.ttl) that
`ikmkg serve --project-dir` and rdflib-endpoint can both serve.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/ikmkg/id/"
PREFIXES = """@prefix ikm: <https://w3id.org/ikmkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix id: <https://w3id.org/ikmkg/id/> .
"""
PROVINCES = 38
REGENCIES = 500
TOP_PRODUCTS = 10
PRODUCTS_PER_TOP = 5
WORDS = ["Batik", "Tenun", "Rotan", "Kakao", "Logam", "Kulit", "Bambu", "Keramik", "Kayu",
         "Anyaman", "Songket", "Kopi", "Gula", "Garam", "Ikan", "Kerajinan", "Mebel", "Sepatu",
         "Tas", "Perak", "Emas", "Gerabah", "Lidah Buaya", "Ulos", "Sutra", "Kain"]
PLACES = ["Makmur", "Jaya", "Sentosa", "Abadi", "Lestari", "Mandiri", "Sejahtera", "Indah",
          "Baru", "Utama", "Bersama", "Berkah"]
STATUSES = ["completed", "ongoing", "planned", "committed", "initial-target"]
#: Average triples per enterprise: type, 2 labels, location, province, product, workers, 1/3 status
PER_ENTERPRISE = 7 + 1 / 3


def iri(path: str) -> str:
    return f"<{ID}{path}>"


def _lines(n_enterprises: int, seed: int):
    rng = random.Random(seed)
    for p in range(1, PROVINCES + 1):
        yield (f"{iri(f'province/synthetic-{p:02d}')} a ikm:Province ; "
               f'rdfs:label "Provinsi Sintetis {p:02d}"@id , "Synthetic Province {p:02d}"@en .')
    regency_province = []
    for r in range(1, REGENCIES + 1):
        p = rng.randint(1, PROVINCES)
        regency_province.append(p)
        reg, prov = f"regency/synthetic-{r:03d}", f"province/synthetic-{p:02d}"
        yield (f"{iri(reg)} a ikm:Regency ; rdfs:label \"Kabupaten Sintetis {r:03d}\"@id , "
               f"\"Synthetic Regency {r:03d}\"@en .")
        yield (f"{iri(f'territory/synthetic-{r:03d}--synthetic-{p:02d}')} a "
               f"ikm:TerritorialAssignment ; ikm:subdivision {iri(reg)} ; "
               f"ikm:parentArea {iri(prov)} ; ikm:validFrom \"2000-01-01\"^^xsd:date .")
    products = []
    for t in range(1, TOP_PRODUCTS + 1):
        top = f"product/synthetic-{t:02d}"
        yield (f"{iri(top)} a ikm:ProductCategory ; skos:inScheme {iri('scheme/products')} ; "
               f"skos:prefLabel \"{WORDS[t]}\"@id ; rdfs:label \"{WORDS[t]}\"@id .")
        for c in range(1, PRODUCTS_PER_TOP + 1):
            child = f"product/synthetic-{t:02d}-{c}"
            products.append(child)
            yield (f"{iri(child)} a ikm:ProductCategory ; skos:broader {iri(top)} ; "
                   f"skos:inScheme {iri('scheme/products')} ; "
                   f"rdfs:label \"{WORDS[t]} {PLACES[c]}\"@id .")
    for p in range(1, PROVINCES + 1):
        for phase in ("2013-2016", "follow-up"):
            eng = f"engagement/synthetic-{phase}--synthetic-{p:02d}"
            focus = " , ".join(iri(x) for x in rng.sample(products, 2))
            yield (f"{iri(eng)} a ikm:ProvinceEngagement ; ikm:phase {iri(f'phase/{phase}')} ; "
                   f"ikm:province {iri(f'province/synthetic-{p:02d}')} ; "
                   f"ikm:productFocus {focus} ; "
                   f"ikm:status {iri('status/' + rng.choice(STATUSES))} ; "
                   f"ikm:statusYear \"{rng.randint(2013, 2017)}\"^^xsd:gYear .")
    for e in range(1, n_enterprises + 1):
        r = rng.randint(1, REGENCIES)
        word, place = rng.choice(WORDS), rng.choice(PLACES)
        status = (f" ; ikm:status {iri('status/' + rng.choice(STATUSES))}"
                  if rng.random() < 1 / 3 else "")
        yield (f"{iri(f'enterprise/synthetic-{e:07d}')} a ikm:Enterprise ; "
               f"rdfs:label \"UD {word} {place} {e:07d}\"@id , "
               f"\"{word} {place} works {e:07d}\"@en ; "
               f"ikm:location {iri(f'regency/synthetic-{r:03d}')} ; "
               f"ikm:province {iri(f'province/synthetic-{regency_province[r - 1]:02d}')} ; "
               f"ikm:product {iri(rng.choice(products))} ; "
               f"ikm:workerCount \"{rng.randint(1, 1000)}\"^^xsd:decimal{status} .")


def generate(out: Path, triples: int, seed: int = 20171226) -> Path:
    """Write a project folder with about `triples` data triples under `out`; return `out`."""
    fixed = (PROVINCES * 3 + REGENCIES * 7 + TOP_PRODUCTS * (5 + PRODUCTS_PER_TOP * 5)
             + PROVINCES * 14)
    n_enterprises = max(0, round((triples - fixed) / PER_ENTERPRISE))
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "ontology").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "ontology" / "ikm.ttl", out / "ontology" / "ikm.ttl")
    # The project's shapes ask for sentence-level provenance that made-up data cannot carry:
    # validate against bench/shapes.ttl (same kinds of constraints, over every synthetic entity).
    shutil.copy(Path(__file__).resolve().parent / "shapes.ttl", out / "ontology" / "shapes.ttl")
    with open(out / "data" / "bench.ttl", "w", encoding="utf-8") as f:
        f.write(PREFIXES + "\n")
        f.writelines(line + "\n" for line in _lines(n_enterprises, seed))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=100_000, help="about this many triples")
    parser.add_argument("--out", type=Path, required=True, help="project folder to write")
    parser.add_argument("--seed", type=int, default=20171226, help="random seed")
    args = parser.parse_args()
    generate(args.out, args.triples, args.seed)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
