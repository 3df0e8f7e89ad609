"""The Atom feeds of versions, read with feedparser (what feed readers use): a campaign of
three versions gives three entries in the dataset's feed and in the catalogue's, each with
its number, date, level, links and row counts; a rollback updates them; the same log gives
the same bytes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import feedparser
import pytest
from rdflib import URIRef
from rdflib.namespace import DCTERMS

from pipelines.core.config import DatasetConfig, Settings, load_catalog_config
from publish.catalog import publish_catalog, schema_files
from publish.feeds import render_catalog_feed, render_dataset_feed
from publish.metadata.dcat import PublishedDataset, build_catalog
from publish.release import rollback_dataset
from tests.conftest import ROOT
from tests.helpers.plan import TABLES, ambition, engagement

BASE = "https://gouvernement-ouvert.exemple.fr/"
SLUG = "plan-action-pgo-2021-2023"


def day(date: str) -> str:
    return str(int(dt.datetime.fromisoformat(f"{date}T12:00:00+00:00").timestamp()))


def refresh(out: Path, config: DatasetConfig, settings: Settings) -> None:
    publish_catalog(
        out,
        load_catalog_config(ROOT / "datasets"),
        [config],
        schema_files(settings.schemas_dir, [config], BASE),
        BASE,
    )


@pytest.fixture()
def campaign(
    small,  # noqa: F811
    plan_config: DatasetConfig,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, DatasetConfig]:
    """Three versions published on three days: 1.0.0, then rows added (1.1.0), then a row changed (1.1.1)."""
    config = plan_config.model_copy(update={"tables": TABLES})
    steps = [
        ("2023-01-10", [ambition(1, 1)], "Titre 1"),
        ("2023-02-10", [ambition(1, 1), ambition(2, 1)], "Titre 1"),
        ("2023-03-10", [ambition(1, 1), ambition(2, 1)], "Titre corrigé"),
    ]
    for date, ambitions, title in steps:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", day(date))
        small(
            tmp_path,
            {"engagements": [engagement(1) | {"titre": title}, engagement(2)], "ambitions": ambitions},
        )
    refresh(tmp_path, config, settings)
    return tmp_path, config


def read(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_three_versions_give_three_entries_newest_first(campaign: tuple[Path, DatasetConfig]) -> None:
    out, _ = campaign
    feed = read(out / "datasets" / SLUG / "versions.atom")
    log = json.loads((out / "datasets" / SLUG / "versions.json").read_text(encoding="utf-8"))
    assert [e.id for e in feed.entries] == [
        f"{BASE}datasets/{SLUG}/{v}/" for v in ("1.1.1", "1.1.0", "1.0.0")
    ]
    assert feed.feed.id == f"{BASE}datasets/{SLUG}/versions.atom"
    assert feed.feed.language == "fr"
    assert feed.feed.updated == "2023-03-10T00:00:00Z"
    by_version = {e["version"]: e for e in log["versions"]}
    for entry in feed.entries:
        version = entry.id.rstrip("/").rsplit("/", 1)[1]
        assert version in entry.title
        assert entry.published == f"{by_version[version]['date']}T00:00:00Z" == entry.updated
        links = {link.rel: link.href for link in entry.links}
        assert links == {
            "alternate": f"{BASE}datasets/{SLUG}/{version}/",
            "describedby": f"{BASE}datasets/{SLUG}/{version}/datapackage.json",
            "related": f"{BASE}datasets/{SLUG}/CHANGELOG.md",
        }
        terms = [t.term for t in entry.tags]
        assert terms[0] == by_version[version]["level"]
        assert ("servie" in terms) == (version == "1.1.1")
        for reason in by_version[version]["reasons"]:
            assert reason in entry.summary
        # Rows of each table (from the version's report) and what changed in it (from the log).
        report = json.loads((out / "datasets" / SLUG / version / "report.json").read_text(encoding="utf-8"))
        html = entry.content[0].value
        for table, counts in by_version[version]["tables"].items():
            rows = report["tables"][table]["lignes"]
            assert f"{table} : {rows} ligne" in html
            assert f"ajoutées : {counts['added']}, modifiées : {counts['changed']}" in html
    catalogue = read(out / "versions.atom")
    assert [e.id for e in catalogue.entries] == [e.id for e in feed.entries]
    assert catalogue.feed.id == f"{BASE}versions.atom"


def test_a_rollback_updates_the_feeds(
    campaign: tuple[Path, DatasetConfig], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = campaign
    before = (out / "datasets" / SLUG / "versions.atom").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", day("2023-04-01"))
    rollback_dataset(out, SLUG, config.title, "1.1.0", "erreur")
    refresh(out, config, settings)
    after = (out / "datasets" / SLUG / "versions.atom").read_bytes()
    assert after != before
    feed = read(out / "datasets" / SLUG / "versions.atom")
    states = {e.id.rstrip("/").rsplit("/", 1)[1]: [t.term for t in e.tags][1:] for e in feed.entries}
    assert states == {"1.1.1": ["retiree"], "1.1.0": ["servie"], "1.0.0": []}
    updated = {e.id.rstrip("/").rsplit("/", 1)[1]: e.updated for e in feed.entries}
    # The versions whose state the rollback changed are dated by it; 1.0.0 is not.
    assert updated == {
        "1.1.1": "2023-04-01T00:00:00Z",
        "1.1.0": "2023-04-01T00:00:00Z",
        "1.0.0": "2023-01-10T00:00:00Z",
    }
    assert feed.feed.updated == "2023-04-01T00:00:00Z"
    assert [t.term for t in read(out / "versions.atom").entries[0].tags][1:] == ["retiree"]


def test_the_same_log_gives_the_same_bytes_whatever_the_clock(
    campaign: tuple[Path, DatasetConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = campaign
    published = PublishedDataset.read(out, config)
    assert published is not None
    catalog = load_catalog_config(ROOT / "datasets")
    first = (render_dataset_feed(out, published, BASE), render_catalog_feed(out, catalog, [published], BASE))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", day("2030-01-01"))
    assert (
        render_dataset_feed(out, published, BASE),
        render_catalog_feed(out, catalog, [published], BASE),
    ) == first
    assert first[0] == (out / "datasets" / SLUG / "versions.atom").read_bytes()


def test_the_catalogue_names_each_feed_as_a_related_resource(campaign: tuple[Path, DatasetConfig]) -> None:
    out, config = campaign
    published = PublishedDataset.read(out, config)
    assert published is not None
    graph = build_catalog(load_catalog_config(ROOT / "datasets"), [published], BASE)
    dataset = URIRef(f"{BASE}datasets/{SLUG}")
    assert list(graph.objects(dataset, DCTERMS.relation)) == [URIRef(f"{BASE}datasets/{SLUG}/versions.atom")]
    assert list(graph.objects(URIRef(f"{BASE}catalog"), DCTERMS.relation)) == [URIRef(f"{BASE}versions.atom")]
