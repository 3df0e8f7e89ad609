"""Publish stage: the pages people read, generated from what is served (Jinja2 templates).

``index.html`` (the datasets and the progress dashboard), one page per dataset
(``datasets/<slug>/index.html``: description, licence, files of the served version with
size and sha256, every version, the schema of each table, schema.org JSON-LD) and one
page per table schema (``schemas/<table>.html``). Everything is inline (styles, SVG
charts, the filter script): no page loads anything from the network, and each works
without JavaScript. Pages hold no build time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from pipelines.core.config import CatalogConfig, SubmissionsSource
from pipelines.core.look import SITE_CSS
from pipelines.core.schema import primary_key
from pipelines.core.times import date_fr
from pipelines.core.vocabulary import labels
from pipelines.gather.submissions.views import derive_views
from pipelines.io.template_cache import template_cache
from publish import versioning as v
from publish.metadata.datapackage import table_of
from publish.metadata.dcat import FEED_FILE, FEED_TYPE, PublishedDataset, dataset_uri, schema_url
from publish.portal import url_problem
from publish.site.dashboard import (
    TARGET_SCALE,
    Dashboard,
    build_dashboard,
    stacked_bars_svg,
    status_scale,
)
from publish.site.fields import PREVIEW_ROWS, constraints_of, example_text, pattern_fr, read_preview

PLAN_TABLES = ("engagements", "ambitions", "actions", "responsables", "organisations")
VERSION_RULE = (
    "Numérotation des versions : MAJEURE quand un champ est supprimé, renommé ou change de "
    "type, qu'une contrainte se resserre ou que la clé primaire change ; MINEURE quand des "
    "lignes ou des champs facultatifs sont ajoutés ; CORRECTIVE quand des lignes sont "
    "modifiées ou supprimées. Une version publiée n'est jamais modifiée."
)


LEVELS_FR = {"major": "majeure", "minor": "mineure", "patch": "corrective"}


def number_fr(value: Any) -> str:
    """A number as French text: thin spaces between thousands, a decimal comma (« 4 000 », « 12,5 »); a Jinja filter."""
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}".replace(",", "\u202f")
    return f"{number:,.2f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")


def percent_fr(share: float) -> str:
    """A share (0.675) as a whole French percentage (« 68 % »), rounded half up; a Jinja filter."""
    return f"{int(share * 100 + 0.5)}\u00a0%"


def size_fr(size: int) -> str:
    """A file size in French units (o, ko, Mo; decimal comma), e.g. « 1,5 Mo »; a Jinja filter."""
    if size < 1024:
        return f"{size} o"
    for unit, factor in (("Mo", 1024**2), ("ko", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} o"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("publish.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=template_cache(),
    )
    environment.filters.update(date_fr=date_fr, size_fr=size_fr, number_fr=number_fr, percent_fr=percent_fr)
    environment.filters.update(example_text=example_text, pattern_fr=pattern_fr, link_datasets=link_datasets)
    environment.globals.update(
        constraints_of=constraints_of, feed_file=FEED_FILE, feed_type=FEED_TYPE, site_css=Markup(SITE_CSS)
    )
    return environment


def _key(schema: dict[str, Any]) -> str:
    return ", ".join(primary_key(schema))


def _json(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def _schema_org(d: PublishedDataset, base_url: str) -> str:
    config = d.config
    page = f"{base_url}datasets/{config.slug}/"
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": config.title,
        "description": config.description,
        "url": page,
        "identifier": str(dataset_uri(base_url, config.slug)),
        "version": d.log.served,
        "dateModified": d.served.date,
        "datePublished": d.log.versions[0].date,
        "inLanguage": "fr",
        "isAccessibleForFree": True,
        "keywords": list(config.keywords),
        "license": config.licence.url,
        "creator": {"@type": "Organization", "name": config.publisher.name},
        "publisher": {"@type": "Organization", "name": config.publisher.name},
        "distribution": [
            {
                "@type": "DataDownload",
                "name": r["path"],
                "encodingFormat": r["mediatype"],
                "contentUrl": f"{page}latest/{r['path']}",
                "contentSize": str(r["bytes"]),
            }
            for r in d.descriptor["resources"]
        ],
    }
    if config.temporal_coverage:
        document["temporalCoverage"] = (
            f"{config.temporal_coverage.start.isoformat()}/{config.temporal_coverage.end.isoformat()}"
        )
    if config.spatial_coverage:
        document["spatialCoverage"] = {"@type": "Place", "name": config.spatial_coverage}
    # "</" cannot close the script element it sits in.
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).replace("</", "<\\/")


def _dashboard(
    out: Path, datasets: list[PublishedDataset], current: dict[str, dict[str, Any]]
) -> tuple[Dashboard | None, str]:
    progress = next((d for d in datasets if isinstance(d.config.source, SubmissionsSource)), None)
    if progress is None:
        return None, ""
    source = progress.config.source
    assert isinstance(source, SubmissionsSource)
    latest = out / "datasets" / progress.config.slug / "latest"
    views = _flat_tables(out / "datasets" / source.plan / "latest", latest, progress, current)
    if views is None:
        return None, ""
    notice = (source.sample_notice or "") if source.sample else ""
    # The statuses' labels are those of the served version's own schema; a version published
    # before its schema carried them is shown with the current schema's.
    schemas = {r["name"]: r["schema"] for r in progress.descriptor["resources"] if "schema" in r}
    served = schemas.get("vue_actions") or schemas["suivi"]
    found = labels(served, "statut") or labels(current.get("suivi", served), "statut")
    vue_actions, vue_cibles = views
    return build_dashboard(
        vue_actions,
        vue_cibles,
        _json(latest / "suivi.json"),
        status_scale(found),
        progress.served.date[:10],
    ), notice


def _flat_tables(
    plan_dir: Path, latest: Path, progress: PublishedDataset, current: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """The served ``vue_actions`` and ``vue_cibles``: what the dashboard shows. A version
    published before the flat tables existed has them derived from its own tables by the
    same functions that build them (``derive_views``), as of its date; None without a plan."""
    if (latest / "vue_actions.json").exists() and (latest / "vue_cibles.json").exists():
        return _json(latest / "vue_actions.json"), _json(latest / "vue_cibles.json")
    if not plan_dir.is_dir():
        return None
    plan = {t: _json(plan_dir / f"{t}.json") for t in PLAN_TABLES}
    # A plan version published before its targets were curated has no cibles table.
    plan["cibles"] = _json(plan_dir / "cibles.json") if (plan_dir / "cibles.json").exists() else []
    suivi_cibles = _json(latest / "suivi_cibles.json") if (latest / "suivi_cibles.json").exists() else []
    derived = derive_views(
        plan,
        {"suivi": _json(latest / "suivi.json"), "suivi_cibles": suivi_cibles},
        [],
        progress.served.date[:10],
        current,
    )
    return derived["vue_actions"], derived["vue_cibles"]


def _report(version_dir: Path) -> dict[str, Any]:
    """The served version's ``report.json`` (the validation of the build), or {} if it has none."""
    path = version_dir / "report.json"
    if not path.is_file():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    return document if isinstance(document, dict) else {}


def _tables(d: PublishedDataset, version_dir: Path, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each table of the served version: its schema and key, its files (by format), its
    number of rows (from the report) and its first rows (from its CSV file)."""
    files: dict[str, list[dict[str, Any]]] = {}
    for resource in d.descriptor["resources"]:
        table = table_of(resource)
        if table is not None:  # the workbook holds several tables: listed apart
            files.setdefault(table, []).append(resource)
    counts = report.get("tables", {}) if isinstance(report.get("tables"), dict) else {}
    tables = []
    for resource in d.descriptor["resources"]:
        if "schema" not in resource:
            continue
        name = resource["name"]
        tables.append(
            {
                "name": name,
                "schema": resource["schema"],
                "key": _key(resource["schema"]),
                "files": [{"path": r["path"], "format": r["format"]} for r in files[name]],
                "rows": counts.get(name, {}).get("lignes"),
                "preview": read_preview(version_dir / resource["path"]),
            }
        )
    return tables


def link_datasets(text: str, root: str, known: dict[str, str]) -> Markup:
    """``text``, escaped, with each identifier of a served dataset made a link to its page; a
    Jinja filter. An identifier inside a longer one (the plan's within the progress
    dataset's) is not one."""
    if not known:
        return escape(text)
    names = "|".join(re.escape(slug) for slug in sorted(known, key=len, reverse=True))
    parts: list[Markup] = []
    last = 0
    for found in re.finditer(rf"(?<![\w-])({names})(?![\w-])", text):
        parts.append(escape(text[last : found.start()]))
        parts.append(
            Markup('<a href="{}">{}</a>').format(
                f"{root}datasets/{found.group(1)}/index.html", found.group(1)
            )
        )
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def plan_slug_of(datasets: list[PublishedDataset]) -> str:
    """The slug of the plan the progress dataset refers to ("" without a progress dataset)."""
    source = next((d.config.source for d in datasets if isinstance(d.config.source, SubmissionsSource)), None)
    return str(source.plan) if isinstance(source, SubmissionsSource) else ""


def render_site(
    out: Path,
    catalog: CatalogConfig,
    datasets: list[PublishedDataset],
    base_url: str,
    current: dict[str, dict[str, Any]] | None = None,
) -> dict[str, bytes]:
    """Every page, by path relative to ``out``; ``current`` are the Table Schemas of the
    definitions (by table), for what a served version's own schema does not say."""
    environment = _environment()
    licence = datasets[0].config.licence.title if datasets else ""
    pages: dict[str, bytes] = {}
    dashboard, sample = _dashboard(out, datasets, current or {})
    charts = {}
    if dashboard is not None:
        charts = {
            "engagements": stacked_bars_svg(
                [(g.id, g.counts) for g in dashboard.engagements],
                "graphique-engagements",
                "Actions par engagement et par statut",
                dashboard.scale,
            ),
            "ambitions": stacked_bars_svg(
                [(g.id, g.counts) for g in dashboard.ambitions],
                "graphique-ambitions",
                "Actions par ambition et par statut",
                dashboard.scale,
            ),
            "over_time": stacked_bars_svg(
                [(date_fr(d), c) for d, c in dashboard.over_time],
                "graphique-evolution",
                "Statut des actions à chaque date de rapport",
                dashboard.scale,
                label_width=150,
            ),  # « 15 septembre 2023 »
            "targets": stacked_bars_svg(
                dashboard.targets_by_engagement,
                "graphique-cibles",
                "Cibles du plan par engagement et par état",
                TARGET_SCALE,
            ),
        }
    pages["index.html"] = (
        environment.get_template("index.html")
        .render(
            root="",
            catalog=catalog,
            datasets=datasets,
            dashboard=dashboard,
            charts=charts,
            sample=sample,
            licence=licence,
            statuses=dashboard.scale if dashboard else (),
            labels=dashboard.labels if dashboard else {},
            target_scale=TARGET_SCALE,
            plan_slug=plan_slug_of(datasets),
        )
        .encode("utf-8")
    )
    if dashboard is not None:
        pages["organismes.html"] = (
            environment.get_template("organismes.html")
            .render(
                root="",
                catalog=catalog,
                dashboard=dashboard,
                sample=sample,
                licence=licence,
                labels=dashboard.labels,
                target_scale=TARGET_SCALE,
            )
            .encode("utf-8")
        )
    known = {d.config.slug: d.config.title for d in datasets}
    local = url_problem(base_url) is not None
    schemas: dict[str, dict[str, Any]] = {}
    owners: dict[str, dict[str, Any]] = {}
    for d in datasets:
        version_dir = out / "datasets" / d.config.slug / str(d.log.served)
        report = _report(version_dir)
        tables = _tables(d, version_dir, report)
        for t in tables:
            schemas[t["name"]] = t["schema"]
            owners[t["name"]] = {"slug": d.config.slug, "title": d.config.title, "files": t["files"]}
        source = d.config.source
        notice = source.sample_notice if isinstance(source, SubmissionsSource) and source.sample else ""
        plan = str(source.plan) if isinstance(source, SubmissionsSource) and source.plan in known else ""
        pages[f"datasets/{d.config.slug}/index.html"] = (
            environment.get_template("dataset.html")
            .render(
                root="../../",
                d=d,
                tables=tables,
                report=report,
                preview_limit=PREVIEW_ROWS,
                rule=VERSION_RULE,
                licence=d.config.licence.title,
                description=[
                    p
                    for p in d.config.description.split("\n")
                    if p.strip() and p.strip() != (notice or "").strip()
                ],
                withdrawn={e.version for e in d.log.withdrawn()},
                sample=notice,
                samples={
                    e.version
                    for e in d.log.versions
                    if isinstance(source, SubmissionsSource)
                    and v.version_is_sample(out / "datasets" / d.config.slug, e)
                },
                rollback=d.rollback(),
                level_fr=LEVELS_FR,
                identifier=str(dataset_uri(base_url, d.config.slug)),
                local=local,
                known=known,
                related={"slug": plan, "title": known[plan]} if plan else None,
                json_ld=_schema_org(d, base_url),
            )
            .encode("utf-8")
        )
    for name, schema in sorted(schemas.items()):
        pages[f"schemas/{name}.html"] = (
            environment.get_template("schema.html")
            .render(
                root="../",
                name=name,
                schema=schema,
                key=_key(schema),
                licence=licence,
                url=schema_url(base_url, name),
                owner=owners.get(name),
                documented=set(schemas),
                known=known,
            )
            .encode("utf-8")
        )
    return pages
