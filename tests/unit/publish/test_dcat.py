"""The catalogue graph built from hand-made served versions: France's geometry (what udata and
ckanext-dcat read as spatial coverage) and table schemas on distributions only."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from pipelines.core.config import CatalogConfig, DatasetConfig, load_catalog_config
from publish import versioning as v
from publish.metadata.dcat import (
    EU,
    FRANCE_BOXES,
    GSP,
    LOCN,
    Profile,
    PublishedDataset,
    build_catalog,
    schema_url,
    serialise,
    wkt_multipolygon,
)
from tests.conftest import ROOT

BASE = "https://gouvernement-ouvert.exemple.fr/"
FRANCE = URIRef(f"{EU}country/FRA")
PROFILES: list[Profile] = ["dcat-ap", "datagouv"]


def served(config: DatasetConfig) -> PublishedDataset:
    """One served version, with a CSV and a JSON file per table of the dataset."""
    entry = v.VersionEntry("1.0.0", "2023-11-14", "0" * 64, "major", ["première publication"], {})
    resources = [
        {
            "name": table if fmt == "csv" else f"{table}-{fmt}",
            "path": f"{table}.{fmt}",
            "format": fmt,
            "mediatype": media,
            "bytes": 10,
            "hash": "sha256:" + "0" * 64,
            "description": f"La table {table}.",
        }
        for table in config.tables
        for fmt, media in (("csv", "text/csv"), ("json", "application/json"))
    ]
    return PublishedDataset(config, v.VersionLog(versions=[entry], served="1.0.0"), {"resources": resources})


@pytest.fixture(scope="module")
def catalog_config() -> CatalogConfig:
    return load_catalog_config(ROOT / "datasets")


@pytest.fixture(scope="module", params=PROFILES)
def graph(
    request: pytest.FixtureRequest,
    catalog_config: CatalogConfig,
    plan_config: DatasetConfig,
    progress_config: DatasetConfig,
) -> Graph:
    return build_catalog(catalog_config, [served(plan_config), served(progress_config)], BASE, request.param)


def test_france_is_one_location_with_one_wkt_geometry_and_no_bbox(graph: Graph) -> None:
    datasets = sorted(str(d) for d in graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 2
    catalog = URIRef(f"{BASE}catalog")
    assert all(
        list(graph.objects(URIRef(node), DCTERMS.spatial)) == [FRANCE] for node in [catalog, *datasets]
    )
    assert (FRANCE, RDF.type, DCTERMS.Location) in graph
    (geometry,) = graph.objects(FRANCE, LOCN.geometry)
    assert isinstance(geometry, Literal) and geometry.datatype == GSP.wktLiteral
    assert str(geometry) == wkt_multipolygon(FRANCE_BOXES)
    # udata merges every WKT literal of the node: a bbox beside the geometry would be a polygon more.
    assert list(graph.objects(FRANCE, DCAT.bbox)) == []
    assert [
        o for o in graph.objects(FRANCE, None) if isinstance(o, Literal) and o.datatype == GSP.wktLiteral
    ] == [geometry]


def test_the_geometry_is_one_closed_counter_clockwise_lon_lat_ring_per_part_of_france() -> None:
    text = wkt_multipolygon(FRANCE_BOXES)
    assert text.startswith("MULTIPOLYGON (((") and text.endswith(")))")
    rings = [
        [tuple(float(n) for n in point.split()) for point in ring.split(", ")]
        for ring in re.findall(r"\(\(([^()]*)\)\)", text)
    ]
    assert len(rings) == len(FRANCE_BOXES) == 11
    for ring, (name, west, south, east, north) in zip(rings, FRANCE_BOXES, strict=True):
        assert ring == [(west, south), (east, south), (east, north), (west, north), (west, south)], name
        assert -180 <= west < east <= 180 and -90 <= south < north <= 90, name
    metropolitan = FRANCE_BOXES[0]
    assert metropolitan[0] == "France métropolitaine"
    # Paris, Ajaccio and Saint-Denis (La Réunion) fall in a box: the boxes are lon/lat, not lat/lon.
    for lon, lat in ((2.35, 48.86), (8.74, 41.92), (55.45, -20.88)):
        assert any(w <= lon <= e and s <= lat <= n for _, w, s, e, n in FRANCE_BOXES), (lon, lat)
    assert wkt_multipolygon(FRANCE_BOXES) == text


def test_table_schemas_are_conforms_to_of_the_distributions_only(graph: Graph) -> None:
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        assert list(graph.objects(dataset, DCTERMS.conformsTo)) == []
        distributions = list(graph.objects(dataset, DCAT.distribution))
        assert distributions
        for distribution in distributions:
            table = str(graph.value(distribution, DCTERMS.identifier)).rsplit("-", 1)[0]
            assert list(graph.objects(distribution, DCTERMS.conformsTo)) == [URIRef(schema_url(BASE, table))]
    assert set(graph.subjects(DCTERMS.conformsTo, None)) == set(graph.subjects(RDF.type, DCAT.Distribution))


@pytest.mark.parametrize("extension", ["ttl", "jsonld", "rdf"])
def test_the_geometry_survives_each_serialisation_with_its_datatype(graph: Graph, extension: str) -> None:
    parsed = Graph().parse(
        data=serialise(graph, extension),
        format={"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}[extension],
    )
    (geometry,) = parsed.objects(FRANCE, LOCN.geometry)
    assert isinstance(geometry, Literal) and geometry.datatype == GSP.wktLiteral
    assert str(geometry) == wkt_multipolygon(FRANCE_BOXES)
