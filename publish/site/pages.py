"""Publish stage: the pages people read, generated from what is served (Jinja2 templates).

``index.html`` (the datasets and the progress dashboard), one page per dataset
(``datasets/<slug>/index.html``: description, licence, files of the served version with
size and sha256, every version, the schema of each table, schema.org JSON-LD) and one
page per table schema (``schemas/<table>.html``). Everything is inline (styles, SVG
charts, the filter script): no page loads anything from the network, and each works
without JavaScript. Pages hold no build time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pipelines.core.config import CatalogConfig, SubmissionsSource
from pipelines.core.look import SITE_CSS
from pipelines.core.schema import primary_key
from pipelines.core.vocabulary import labels
from publish import versioning as v
from publish.metadata.dcat import PublishedDataset, dataset_uri, schema_url
from publish.site.dashboard import (
    TARGET_SCALE,
    Dashboard,
    build_dashboard,
    stacked_bars_svg,
    status_scale,
)

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
PLAN_TABLES = ("engagements", "ambitions", "actions", "responsables", "organisations")
VERSION_RULE = (
    "Numérotation des versions : MAJEURE quand un champ est supprimé, renommé ou change de "
    "type, qu'une contrainte se resserre ou que la clé primaire change ; MINEURE quand des "
    "lignes ou des champs facultatifs sont ajoutés ; CORRECTIVE quand des lignes sont "
    "modifiées ou supprimées. Une version publiée n'est jamais modifiée."
)


LEVELS_FR = {"major": "majeure", "minor": "mineure", "patch": "corrective"}


def date_fr(value: Any) -> str:
    """A date (or an ISO text starting with one) in French words, e.g. « 1er mai 2024 »; a Jinja filter."""
    day = dt.date.fromisoformat(str(value)[:10])
    return f"{day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


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


def constraint_fr(name: str, value: Any) -> str:
    """A field constraint in French for the schema tables; empty for a false ``required`` or ``unique``."""
    if name in ("required", "unique"):
        return {"required": "obligatoire", "unique": "unique"}[name] if value else ""
    if name == "enum":
        return "une valeur parmi : " + ", ".join(map(str, value))
    texts = {
        "minimum": f"minimum {value}",
        "maximum": f"maximum {value}",
        "minLength": f"au moins {value} caractère(s)",
        "maxLength": f"au plus {value} caractères",
        "pattern": f"motif {value}",
    }
    return texts.get(name, f"{name} : {value}")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("publish.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(date_fr=date_fr, size_fr=size_fr, number_fr=number_fr, percent_fr=percent_fr)
    environment.globals.update(constraint_fr=constraint_fr, site_css=Markup(SITE_CSS))
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
        "dateModified": d.served["date"],
        "datePublished": d.log.versions[0]["date"],
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
    plan_dir = out / "datasets" / source.plan / "latest"
    if not plan_dir.is_dir():
        return None, ""
    plan = {t: _json(plan_dir / f"{t}.json") for t in PLAN_TABLES}
    # A plan version published before its targets were curated has no cibles table.
    plan["cibles"] = _json(plan_dir / "cibles.json") if (plan_dir / "cibles.json").exists() else []
    latest = out / "datasets" / progress.config.slug / "latest"
    suivi = _json(latest / "suivi.json")
    # A version published before the targets were reported on has no suivi_cibles.
    suivi_cibles = _json(latest / "suivi_cibles.json") if (latest / "suivi_cibles.json").exists() else []
    notice = (source.sample_notice or "") if source.sample else ""
    # The statuses' labels are those of the served version's own schema; a version published
    # before its schema carried them is shown with the current schema's.
    served = next(r["schema"] for r in progress.descriptor["resources"] if r["name"] == "suivi")
    found = labels(served, "statut") or labels(current.get("suivi", served), "statut")
    return build_dashboard(
        plan, suivi, status_scale(found), suivi_cibles, str(progress.served["date"])[:10]
    ), notice


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
    schemas: dict[str, dict[str, Any]] = {}
    for d in datasets:
        tables = []
        for resource in d.descriptor["resources"]:
            if "schema" in resource:
                schemas[resource["name"]] = resource["schema"]
                tables.append(
                    {"name": resource["name"], "schema": resource["schema"], "key": _key(resource["schema"])}
                )
        source = d.config.source
        notice = source.sample_notice if isinstance(source, SubmissionsSource) and source.sample else ""
        pages[f"datasets/{d.config.slug}/index.html"] = (
            environment.get_template("dataset.html")
            .render(
                root="../../",
                d=d,
                tables=tables,
                rule=VERSION_RULE,
                licence=d.config.licence.title,
                description=[
                    p
                    for p in d.config.description.split("\n")
                    if p.strip() and p.strip() != (notice or "").strip()
                ],
                withdrawn={e["version"] for e in d.log.withdrawn()},
                sample=notice,
                samples={
                    e["version"]
                    for e in d.log.versions
                    if isinstance(source, SubmissionsSource)
                    and v.version_is_sample(out / "datasets" / d.config.slug, e)
                },
                rollback=d.rollback(),
                level_fr=LEVELS_FR,
                identifier=str(dataset_uri(base_url, d.config.slug)),
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
            )
            .encode("utf-8")
        )
    return pages
