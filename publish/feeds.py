"""Publish stage: the Atom feeds of versions, one per dataset and one for the whole catalogue.

``datasets/<slug>/versions.atom`` has one entry per published version of the dataset (its
number, date, level, reasons, the rows of each table and what changed in them, links to
the version folder, its ``datapackage.json`` and the changelog); ``versions.atom`` at the
root of the output has the entries of every dataset. Written with the catalogue
(``publish.catalog``), under the output's lock, from ``versions.json``: a rollback, which
rewrites the catalogue, updates them too.

Guarantees:

- byte-deterministic: every date comes from ``versions.json`` (the publication dates,
  which ``SOURCE_DATE_EPOCH`` sets), never from the clock; entries in a fixed order;
- stable identifiers: an entry's ``id`` is its version folder's URL, the same in the
  dataset's feed and the catalogue's, so a reader never shows one version twice;
- an entry whose state changes (withdrawn by a rollback, served again) gets the date of
  that rollback as ``updated``, so feed readers show it again;
- French text, Atom 1.0 (RFC 4287) as feed readers parse it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path

from pipelines.core.config import CatalogConfig, SubmissionsSource
from pipelines.core.times import date_fr
from publish import versioning as v
from publish.metadata.dcat import FEED_FILE, FEED_TYPE, PublishedDataset
from publish.site.pages import LEVELS_FR

ATOM = "http://www.w3.org/2005/Atom"
STATES_FR = {"servie": "version servie", "retiree": "retirée par un retour arrière"}


def dataset_feed_path(slug: str) -> str:
    """Where a dataset's feed is, relative to the output folder."""
    return f"datasets/{slug}/{FEED_FILE}"


def _instant(date: str) -> str:
    """A date of ``versions.json`` (``YYYY-MM-DD``) as an Atom date-time: midnight UTC."""
    return f"{date[:10]}T00:00:00Z"


def _rows_of(version_dir: Path) -> dict[str, int]:
    """Rows per table of a published version, from its ``report.json`` (empty if it has none)."""
    try:
        document = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))
        return {str(name): int(t["lignes"]) for name, t in document["tables"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


@dataclass(frozen=True)
class FeedEntry:
    """One version of one dataset as a feed entry."""

    slug: str
    title: str
    entry: v.VersionEntry
    state: str  # "servie", "retiree" or ""
    updated: str
    rows: dict[str, int]
    sample: bool = False

    @property
    def version(self) -> str:
        return self.entry.version

    def sort_key(self) -> tuple[str, str, str, tuple[int, ...]]:
        """Newest first: by date of change, then publication date, then slug, then number."""
        return (self.updated, self.entry.date, self.slug, v.version_tuple(self.version))


def entries_of(out: Path, published: PublishedDataset) -> list[FeedEntry]:
    """Every version of a served dataset, newest first, with its state as of now."""
    log = published.log
    slug = published.config.slug
    withdrawn = {e.version for e in log.withdrawn()}
    sample = isinstance(published.config.source, SubmissionsSource)
    found = []
    for entry in log.versions:
        version = entry.version
        changed = [
            r.date
            for r in log.rollbacks
            if version in (r.to_version, r.from_version)
            or (v.version_tuple(version) > v.version_tuple(r.to_version) and entry.date <= r.date)
        ]
        state = "servie" if version == log.served else "retiree" if version in withdrawn else ""
        found.append(
            FeedEntry(
                slug,
                published.config.title,
                entry,
                state,
                max([entry.date, *changed]),
                _rows_of(out / "datasets" / slug / version),
                sample and v.version_is_sample(out / "datasets" / slug, entry),
            )
        )
    return sorted(found, key=FeedEntry.sort_key, reverse=True)


def _lines(count: int) -> str:
    return f"{count} ligne{'s' if count > 1 else ''}"


def _counts_fr(counts: dict[str, int]) -> str:
    added, changed, removed = (int(counts.get(k, 0)) for k in ("added", "changed", "removed"))
    return f"ajoutées : {added}, modifiées : {changed}, supprimées : {removed}"


def _summary(item: FeedEntry) -> str:
    entry = item.entry
    level = LEVELS_FR.get(entry.level, entry.level)
    text = f"Version {item.version} ({level}) publiée le {date_fr(entry.date)}"
    if item.sample:
        text += ", construite à partir de données d'exemple (inventées)"
    if item.state:
        text += f", {STATES_FR[item.state]}"
    reasons = " ; ".join(entry.reasons) or "aucun motif"
    return f"{text}. Motifs : {reasons}."


def _content(item: FeedEntry, base_url: str) -> str:
    """The entry's body, as HTML text (escaped once more by the XML writer)."""
    entry = item.entry
    parts = [f"<p>{escape(_summary(item))}</p>"]
    tables = {name: counts.to_json() for name, counts in entry.tables.items()}
    names = sorted(set(tables) | set(item.rows))
    if names:
        parts.append("<p>Lignes par table :</p><ul>")
        for name in names:
            rows = _lines(item.rows[name]) if name in item.rows else "lignes non comptées"
            change = f" ; {_counts_fr(tables[name])}" if name in tables else ""
            parts.append(f"<li>{escape(name)} : {rows}{change}</li>")
        parts.append("</ul>")
    folder = f"{base_url}datasets/{item.slug}/{item.version}/"
    parts.append(
        f'<p><a href="{escape(folder)}">Dossier de la version</a> · '
        f'<a href="{escape(folder)}datapackage.json">datapackage.json</a> · '
        f'<a href="{escape(base_url)}datasets/{escape(item.slug)}/{v.CHANGELOG_FILE}">Historique des versions</a></p>'
    )
    return "".join(parts)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, item: FeedEntry, base_url: str, with_dataset: bool) -> None:
    folder = f"{base_url}datasets/{item.slug}/{item.version}/"
    entry = item.entry
    level = LEVELS_FR.get(entry.level, entry.level)
    node = _sub(feed, "entry")
    _sub(node, "id", folder)
    title = f"Version {item.version} ({level})"
    _sub(node, "title", f"{item.title} — {title}" if with_dataset else title)
    _sub(node, "published", _instant(entry.date))
    _sub(node, "updated", _instant(item.updated))
    _sub(node, "link", rel="alternate", href=folder)
    _sub(node, "link", rel="describedby", type="application/json", href=f"{folder}datapackage.json")
    _sub(
        node,
        "link",
        rel="related",
        type="text/markdown",
        title="Historique des versions",
        href=f"{base_url}datasets/{item.slug}/{v.CHANGELOG_FILE}",
    )
    # Categories a reader can filter on: the level, then the state and the sample mark.
    _sub(node, "category", term=entry.level, label=f"version {level}")
    if item.state:
        _sub(node, "category", term=item.state, label=STATES_FR[item.state])
    if item.sample:
        _sub(node, "category", term="exemple", label="données d'exemple")
    _sub(node, "summary", _summary(item), type="text")
    _sub(node, "content", _content(item, base_url), type="html")


def _feed(
    url: str, title: str, subtitle: str, page: str, author: str, rights: str, items: list[FeedEntry]
) -> ET.Element:
    # Names written as they are: the Atom namespace is the default one of the document.
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "fr"})
    _sub(feed, "id", url)
    _sub(feed, "title", title)
    _sub(feed, "subtitle", subtitle)
    # A feed without entries is dated by nothing published: the epoch, a fixed value.
    _sub(feed, "updated", _instant(max((i.updated for i in items), default="1970-01-01")))
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "link", rel="self", type=FEED_TYPE, href=url)
    _sub(feed, "link", rel="alternate", type="text/html", href=page)
    if rights:
        _sub(feed, "rights", rights)
    return feed


def _bytes(feed: ET.Element) -> bytes:
    ET.indent(feed, space=" ")
    text: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return text + b"\n"


def render_dataset_feed(out: Path, published: PublishedDataset, base_url: str) -> bytes:
    """The Atom feed of one dataset's versions, newest first."""
    config = published.config
    url = f"{base_url}{dataset_feed_path(config.slug)}"
    items = entries_of(out, published)
    feed = _feed(
        url,
        f"Versions — {config.title}",
        f"Chaque version publiée du jeu de données {config.slug} : numéro, date, niveau, motifs "
        f"et lignes par table. Version servie : {published.log.served}.",
        f"{base_url}datasets/{config.slug}/",
        config.publisher.name,
        config.licence.title,
        items,
    )
    for item in items:
        _entry(feed, item, base_url, with_dataset=False)
    return _bytes(feed)


def render_catalog_feed(
    out: Path, catalog: CatalogConfig, datasets: list[PublishedDataset], base_url: str
) -> bytes:
    """The Atom feed of every version of every served dataset, newest first."""
    items = sorted(
        (item for d in datasets for item in entries_of(out, d)), key=FeedEntry.sort_key, reverse=True
    )
    licences = sorted({d.config.licence.title for d in datasets})
    feed = _feed(
        f"{base_url}{FEED_FILE}",
        f"Versions — {catalog.title}",
        "Chaque version publiée de chaque jeu de données du catalogue : numéro, date, niveau, "
        "motifs et lignes par table.",
        base_url,
        catalog.publisher.name,
        " ; ".join(licences),
        items,
    )
    for item in items:
        _entry(feed, item, base_url, with_dataset=True)
    return _bytes(feed)


def feed_files(
    out: Path, catalog: CatalogConfig, datasets: list[PublishedDataset], base_url: str
) -> dict[str, bytes]:
    """Every feed, by path relative to ``out``."""
    files = {FEED_FILE: render_catalog_feed(out, catalog, datasets, base_url)}
    for published in datasets:
        files[dataset_feed_path(published.config.slug)] = render_dataset_feed(out, published, base_url)
    return files
