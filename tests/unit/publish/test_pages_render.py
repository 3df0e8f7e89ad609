"""The pages as written (no browser): each dataset page shows the first 20 rows of each table
as its CSV holds them, escaped, and links each table's schema page, the report and the
feed; schema pages link back to their dataset and files; every page names the feed; the
identifier is called local when the site was built without a public address."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines.core.config import DatasetConfig, Settings, load_catalog_config
from publish.catalog import local_address_notice, publish_catalog, schema_files
from tests.conftest import ROOT
from tests.helpers.plan import TABLES, ambition, engagement

PUBLIC = "https://gouvernement-ouvert.exemple.fr/"
LOCAL = "http://127.0.0.1:8000/"
SLUG = "plan-action-pgo-2021-2023"


class Page(HTMLParser):
    """Links, alternate links and the cells of each table (by id) of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.alternates: list[tuple[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in found:
            self.links.append(found["href"])
        if tag == "link" and found.get("rel") == "alternate":
            self.alternates.append((found["type"], found["href"]))
        if tag == "table":
            self._table = found.get("id", "")
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        if tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def identifier_of(html: str) -> str:
    """The text of the page's identifier item (``<li id="identifiant">``), tags removed."""
    found = re.search(r'<li id="identifiant">(.*?)</li>', html, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>", "", found.group(1))


def site(out: Path, config: DatasetConfig, settings: Settings, base_url: str) -> None:
    publish_catalog(
        out,
        load_catalog_config(ROOT / "datasets"),
        [config],
        schema_files(settings.schemas_dir, [config], base_url),
        base_url,
    )


@pytest.fixture()
def published(small, plan_config: DatasetConfig, tmp_path: Path) -> tuple[Path, DatasetConfig]:  # noqa: F811
    config = plan_config.model_copy(update={"tables": TABLES})
    first = engagement(1) | {"titre": "<script>alert('x')</script> & « guillemets »"}
    ambitions = [ambition(1 + n // 9, 1 + n % 9) for n in range(25)]
    small(tmp_path, {"engagements": [first, engagement(2), engagement(3)], "ambitions": ambitions})
    return tmp_path, config


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


def test_the_dataset_page_shows_the_first_rows_escaped_and_links_schema_report_and_feed(
    published: tuple[Path, DatasetConfig], settings: Settings
) -> None:
    out, config = published
    site(out, config, settings, PUBLIC)
    text = (out / "datasets" / SLUG / "index.html").read_text(encoding="utf-8")
    page = Page(text)
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    for table in TABLES:
        rows = csv_rows(out / "datasets" / SLUG / "latest" / f"{table}.csv")
        shown = page.tables[f"table-apercu-{table}"]
        assert shown[0] == rows[0]  # the header: the CSV's column names
        assert shown[1:] == rows[1:21]  # at most 20 rows, cell for cell
        assert f"../../schemas/{table}.html" in page.links
        assert f"latest/{table}.csv" in page.links and f"latest/{table}.parquet" in page.links
    assert len(page.tables["table-apercu-ambitions"]) == 1 + 20  # 25 rows in the table
    assert len(page.tables["table-apercu-engagements"]) == 1 + 3
    assert "latest/report.json" in page.links
    assert "versions.atom" in page.links and "../../versions.atom" in page.links
    assert ("application/atom+xml", "versions.atom") in page.alternates
    assert ("application/atom+xml", "../../versions.atom") in page.alternates
    assert identifier_of(text).startswith("Identifiant stable")
    assert local_address_notice(PUBLIC) is None


def test_schema_pages_link_back_to_their_dataset_and_files_and_every_page_names_the_feed(
    published: tuple[Path, DatasetConfig], settings: Settings
) -> None:
    out, config = published
    site(out, config, settings, PUBLIC)
    for table in TABLES:
        page = Page((out / "schemas" / f"{table}.html").read_text(encoding="utf-8"))
        assert f"../datasets/{SLUG}/index.html#table-{table}" in page.links
        for extension in ("csv", "parquet", "json"):
            assert f"../datasets/{SLUG}/latest/{table}.{extension}" in page.links
        assert ("application/atom+xml", "../versions.atom") in page.alternates
    ambitions = Page((out / "schemas" / "ambitions.html").read_text(encoding="utf-8"))
    assert "engagements.html" in ambitions.links  # its foreign key, to the table's own page
    for html in out.rglob("*.html"):
        alternates = Page(html.read_text(encoding="utf-8")).alternates
        assert any(
            kind == "application/atom+xml" and href.endswith("versions.atom") for kind, href in alternates
        )


def test_a_site_built_on_the_local_address_says_so(
    published: tuple[Path, DatasetConfig], settings: Settings
) -> None:
    out, config = published
    site(out, config, settings, LOCAL)
    identifier = identifier_of((out / "datasets" / SLUG / "index.html").read_text(encoding="utf-8"))
    assert "adresse locale, non publique" in identifier and "stable" not in identifier
    notice = local_address_notice(LOCAL)
    assert notice is not None and "OGP_BASE_URL" in notice and LOCAL in notice
