"""The DCAT-AP 3 catalogue: official SHACL shapes, three isomorphic serialisations, stable
identifiers across versions, and what the real harvesters of data.gouv.fr (udata) and
CKAN (ckanext-dcat) import from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
import requests
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from publish.metadata.dcat import FRANCE_BOXES
from publish.serve import make_server
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT

pytestmark = pytest.mark.slow

BASE = "https://gouvernement-ouvert.exemple.fr/"
SHAPES = ROOT / "tests" / "reference" / "dcat-ap-3.0.1"
TOOLS = ROOT / "tools" / "harvest_check"
SH = Namespace("http://www.w3.org/ns/shacl#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ENV = {
    **os.environ,
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_BASE_URL": BASE,
}


def ogp_run(out: Path, state: Path, **env: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ogp"), "run", "--out", str(out), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        env={**ENV, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "OGP_BASE_URL=" not in result.stderr  # a public address: no notice


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catalogue") / "site"
    ogp_run(out, out.parent / "var")
    return out


def parse(path: Path) -> Graph:
    return Graph().parse(path, format={"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}[path.suffix[1:]])


@pytest.mark.parametrize("extension", ["ttl", "jsonld", "rdf"])
def test_zero_violations_under_the_dcat_ap_3_shapes(site: Path, extension: str) -> None:
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl", "shapes_recommended.ttl"):
        shapes.parse(SHAPES / name)
    _, report, _ = validate(
        parse(site / f"catalog.{extension}"), shacl_graph=shapes, inference="none", allow_warnings=True
    )
    severities = [report.value(r, SH.resultSeverity) for r in report.objects(None, SH.result)]
    violations = [
        r for r, s in zip(report.objects(None, SH.result), severities, strict=True) if s == SH.Violation
    ]
    assert violations == []
    assert len(severities) <= 6  # warnings only: EU corporate body, France's bbox/centroid, licence type


def test_the_three_serialisations_are_one_graph_and_profiles_differ_only_in_checksums(site: Path) -> None:
    graphs = [parse(site / f"catalog.{e}") for e in ("ttl", "jsonld", "rdf")]
    assert isomorphic(graphs[0], graphs[1]) and isomorphic(graphs[0], graphs[2])
    datagouv = [parse(site / f"catalog-datagouv.{e}") for e in ("ttl", "jsonld", "rdf")]
    assert isomorphic(datagouv[0], datagouv[1]) and isomorphic(datagouv[0], datagouv[2])

    def without_checksums(graph: Graph) -> Graph:
        kept = Graph()
        for t in graph:
            if t[1] not in (SPDX.checksumValue, SPDX.algorithm) and not (
                t[1] == RDF.type and t[2] == SPDX.ChecksumAlgorithm
            ):
                kept.add(t)
        return kept

    assert isomorphic(without_checksums(graphs[0]), without_checksums(datagouv[0]))
    assert not isomorphic(graphs[0], datagouv[0])
    # 12 tables (7 of the plan; suivi, suivi_cibles, vue_actions, vue_cibles, soumissions) × 3
    # formats, and the progress dataset's workbook.
    assert len(list(graphs[0].objects(None, SPDX.checksumValue))) == 37
    assert len(list(datagouv[0].objects(None, SPDX.checksumValue))) == 37


def test_each_dataset_and_the_catalogue_name_their_feed_and_pages_say_stable_identifiers(site: Path) -> None:
    graph = parse(site / "catalog.ttl")
    assert (URIRef(f"{BASE}catalog"), DCTERMS.relation, URIRef(f"{BASE}versions.atom")) in graph
    ids = []
    for slug in (PLAN_SLUG, PROGRESS_SLUG):
        feed = URIRef(f"{BASE}datasets/{slug}/versions.atom")
        assert list(graph.objects(URIRef(f"{BASE}datasets/{slug}"), DCTERMS.relation)) == [feed]
        parsed = feedparser.parse((site / "datasets" / slug / "versions.atom").read_bytes())
        assert not parsed.bozo and parsed.feed.id == str(feed)
        assert [e.id for e in parsed.entries] == [f"{BASE}datasets/{slug}/1.0.0/"]
        ids += [e.id for e in parsed.entries]
        page = (site / "datasets" / slug / "index.html").read_text(encoding="utf-8")
        assert '<li id="identifiant">Identifiant stable' in page
    catalogue = feedparser.parse((site / "versions.atom").read_bytes())
    assert sorted(e.id for e in catalogue.entries) == sorted(ids)


def test_turtle_is_served_with_its_charset(site: Path) -> None:
    server = make_server(site, port=0)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        types = {
            name: requests.get(base + name, timeout=5).headers["Content-Type"]
            for name in (
                "catalog.ttl",
                "catalog.jsonld",
                "catalog.rdf",
                f"datasets/{PLAN_SLUG}/latest/actions.parquet",
                f"datasets/{PLAN_SLUG}/latest/actions.csv",
                f"datasets/{PLAN_SLUG}/latest/actions.json",
                "versions.atom",
            )
        }
        served = requests.get(base + "catalog-datagouv.ttl", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert types == {
        "catalog.ttl": "text/turtle; charset=utf-8",
        "catalog.jsonld": "application/ld+json; charset=utf-8",
        "catalog.rdf": "application/rdf+xml; charset=utf-8",
        f"datasets/{PLAN_SLUG}/latest/actions.parquet": "application/vnd.apache.parquet",
        f"datasets/{PLAN_SLUG}/latest/actions.csv": "text/csv; charset=utf-8",
        f"datasets/{PLAN_SLUG}/latest/actions.json": "application/json; charset=utf-8",
        "versions.atom": "application/atom+xml; charset=utf-8",
    }
    assert "données" in served.text  # decoded as UTF-8 by requests, as udata would


def france_geojson() -> dict:
    """France's geometry as udata and CKAN store it: a GeoJSON MultiPolygon of the boxes."""
    return {
        "type": "MultiPolygon",
        "coordinates": [[[[w, s], [e, s], [e, n], [w, n], [w, s]]] for _, w, s, e, n in FRANCE_BOXES],
    }


def _tool(script: str, venv: str, *args: str) -> dict:
    """Runs a harvest_check tool in its venv, which ``make tools`` installs (``make test`` runs
    it; tests never do)."""
    python = ROOT / ".venv-tools" / venv / "bin" / "python"
    stamp = python.parent.parent / ".installed-stamp"
    if not stamp.is_file():
        pytest.fail(
            f"the {venv} harvester venv is missing ({stamp.parent}): run `make tools` "
            "(`make test` runs it), which installs it from tools/harvest_check/"
            f"{venv}.lock",
            pytrace=False,
        )
    result = subprocess.run(
        [str(python), str(TOOLS / script), *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("extension", ["ttl", "jsonld"])
def test_udata_imports_every_dataset_at_9_of_9_with_spatial_licence_checksums_and_schemas(
    site: Path, extension: str
) -> None:
    report = _tool(
        "harvest_check.py",
        "udata",
        str(site / f"catalog-datagouv.{extension}"),
        "--content-type",
        {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json; charset=utf-8"}[extension],
    )
    assert report["summary"]["datasets_imported"] == 2 and report["summary"]["datasets_failed"] == 0
    for dataset in report["datasets"]:
        slug = dataset["remote_id"].removeprefix(f"{BASE}datasets/")
        assert dataset["status"] == "done" and dataset["errors"] == []
        assert dataset["license"]["id"] == "lov2" and not dataset["license_is_default_fallback"]
        assert dataset["frequency"] in ("punctual", "irregular")
        assert dataset["temporal_coverage"] == {"start": "2021-01-01", "end": "2023-12-31"}
        descriptor = json.loads(
            (site / "datasets" / slug / "latest" / "datapackage.json").read_text(encoding="utf-8")
        )
        expected = {
            f"{BASE}datasets/{slug}/latest/{r['path']}": r["hash"].removeprefix("sha256:")
            for r in descriptor["resources"]
        }
        got = {r["url"]: r["checksum"] for r in dataset["resources"]}
        assert got.keys() == expected.keys()
        assert all(got[url] == {"type": "sha256", "value": digest} for url, digest in expected.items())
        # Each resource keeps its own table's schema; the dataset none (udata would keep one of them),
        # nor the workbook, which holds several tables.
        tables = [r for r in dataset["resources"] if not r["url"].endswith(".xlsx")]
        assert len(tables) == len(dataset["resources"]) - (slug == PROGRESS_SLUG)
        assert all(r["schema"]["url"] == f"{BASE}schemas/{Path(r['url']).stem}.json" for r in tables)
        assert all((site / "schemas" / Path(r["schema"]["url"]).name).is_file() for r in tables)
        assert all(not (r.get("schema") or {}).get("url") for r in dataset["resources"] if r not in tables)
        assert dataset["schema"] is None
        # Spatial coverage kept (udata reads it from the WKT geometry only), hence 9/9.
        assert dataset["spatial"] == france_geojson()
        assert dataset["quality"]["spatial"] is True
        assert dataset["quality"]["score"] == 1.0  # 9/9: udata's score is normalised by 9


def test_ckan_dcat_parses_the_dcat_ap_catalogue(site: Path) -> None:
    report = _tool(
        "ckan_dcat_check.py",
        "ckan",
        str(site / "catalog.ttl"),
        "--licenses",
        str(TOOLS / "licenses_datagouv.json"),
    )
    assert report["errors"] == []
    assert sorted(d["identifier"] for d in report["datasets"]) == [
        f"{BASE}datasets/{PLAN_SLUG}",
        f"{BASE}datasets/{PROGRESS_SLUG}",
    ]
    for dataset in report["datasets"]:
        assert dataset["license_id"] == "lov2"
        assert dataset["version"] == "1.0.0"
        extras = dataset["extras"]
        assert extras["spatial_uri"] == "http://publications.europa.eu/resource/authority/country/FRA"
        assert extras["spatial_text"] == "France"
        assert extras["spatial"] == france_geojson()  # locn:geometry, WKT turned into GeoJSON
        assert "spatial_bbox" not in extras and "conforms_to" not in extras
        for r in dataset["resources"]:  # the workbook holds several tables: no schema
            if r["url"].endswith(".xlsx"):
                assert not r.get("schema"), r
            else:
                assert r["schema"] == [f"{BASE}schemas/{Path(r['url']).stem}.json"], r


def test_a_new_version_keeps_every_identifier_and_lists_each_dataset_once(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    shutil.copytree(site, out, symlinks=True)
    state = tmp_path / "var"
    inbox = tmp_path / "boite" / "ditp"
    inbox.mkdir(parents=True)
    (inbox / "rapport.csv").write_text(
        "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
        "E1-A1-01,2023-06-30,substantiel,80,,\n",
        encoding="utf-8",
    )
    before = parse(site / "catalog.ttl")
    ogp_run(out, state, OGP_SUBMISSIONS_INBOX=str(tmp_path / "boite"))
    after = parse(out / "catalog.ttl")
    datasets = sorted(after.subjects(RDF.type, DCAT.Dataset))
    assert datasets == sorted(before.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 2
    for dataset in datasets:
        assert after.value(dataset, DCTERMS.identifier) == before.value(dataset, DCTERMS.identifier)
        assert set(after.objects(None, DCAT.downloadURL)) == set(before.objects(None, DCAT.downloadURL))
    progress = URIRef(f"{BASE}datasets/{PROGRESS_SLUG}")
    assert str(before.value(progress, DCAT.version)) == "1.0.0"
    assert str(after.value(progress, DCAT.version)) == "1.1.0"  # samples out, a report in


def test_published_schemas_resolve_and_meet_schema_data_gouv_fr_requirements(site: Path) -> None:
    import frictionless

    graph = parse(site / "catalog.ttl")
    standards = sorted({str(o) for o in graph.objects(None, DCTERMS.conformsTo)})
    assert len(standards) == 12  # a schema per table: 7 of the plan, 5 of the progress (not the workbook)
    for url in standards:
        path = site / url.removeprefix(BASE)
        schema = json.loads(path.read_text(encoding="utf-8"))
        descriptor = {k: v for k, v in schema.items() if k != "$schema"}
        assert frictionless.Schema.validate_descriptor(descriptor).valid, url
        # What schema.data.gouv.fr checks on a published schema (see its reference schemas).
        for key in (
            "$schema",
            "name",
            "title",
            "description",
            "keywords",
            "countryCode",
            "homepage",
            "path",
            "resources",
            "created",
            "lastModified",
            "version",
            "contributors",
            "licenses",
        ):
            assert schema.get(key), (url, key)
        assert schema["path"] == url
        assert all(f.get("description") and "example" in f for f in schema["fields"]), url
        example = schema["resources"][0]["path"].removeprefix(BASE)
        # The schema alone, as schema.data.gouv.fr's CI runs it (relative paths: frictionless
        # refuses absolute ones).
        checked = subprocess.run(
            [
                str(Path(sys.executable).parent / "frictionless"),
                "validate",
                "--json",
                "--schema",
                url.removeprefix(BASE),
                example,
            ],
            cwd=site,
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(checked.stdout)
        assert report["valid"] is True, (url, report)
        assert report["tasks"][0]["stats"]["rows"] > 0, url
        assert "foreignKeys" not in schema, url
