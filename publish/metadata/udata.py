"""Publish stage: the data.gouv.fr (udata API v1) payload of one version, and its quality score.

``udata.json`` holds the dataset and its resources as ``POST/PUT /api/1/datasets/`` take
them: udata's own identifiers for the licence (``lov2``), the frequency, the spatial zone
and granularity, slugified tags, and for each resource its title, description, format,
MIME type, size, sha256 checksum and Table Schema. Resources point at the stable
``latest/`` URLs, like the DCAT catalogue's distributions.

``quality_score`` computes the score data.gouv.fr shows, the way udata 17.18's
``Dataset.compute_quality`` / ``compute_quality_score`` do (9 criteria, normalised to 1).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from pipelines.core.config import DatasetConfig
from publish.metadata.datapackage import table_of
from publish.metadata.dcat import schema_url

# udata's identifiers (udata/core/dataset/constants.py, the licence list of data.gouv.fr).
UDATA_LICENCES = {"etalab-2.0": "lov2"}
UDATA_FREQUENCIES = {
    "AS_NEEDED": "punctual",
    "IRREG": "irregular",
    "NEVER": "never",
    "DAILY": "daily",
    "WEEKLY": "weekly",
    "MONTHLY": "monthly",
    "QUARTERLY": "quarterly",
    "ANNUAL": "annual",
    "CONT": "continuous",
    "UNKNOWN": "unknown",
}
# Frequencies whose next update udata cannot compute: "update fulfilled in time" holds.
FREQUENCIES_WITHOUT_DELTA = {"continuous", "punctual", "irregular", "never", "notPlanned", "other", "unknown"}
UDATA_ZONES = {"France": ("country:fr", "country")}
CLOSED_FORMATS = ("pdf", "doc", "docx", "word", "xls", "excel", "xlsx")
QUALITY_DESCRIPTION_LENGTH = 100
QUALITY_MAX_SCORE = 9


def slugify_tag(keyword: str) -> str:
    """A keyword as a udata tag: lowercase ASCII words joined by hyphens."""
    decomposed = unicodedata.normalize("NFKD", keyword)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def build_udata_payload(
    config: DatasetConfig, version: str, descriptor: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """The udata dataset of one version: its metadata, a resource per data file and the changelog.

    Resources point at the stable ``latest/`` URLs; ``extras["ogp:identifiant"]``, the DCAT dataset
    URI, is how ``publish_to_portal`` finds the portal's copy of the dataset."""
    page = f"{base_url}datasets/{config.slug}/"
    resources = []
    for resource in descriptor["resources"]:
        fmt = resource["format"]
        table = table_of(resource)
        entry: dict[str, Any] = {
            "title": f"{table}.{fmt}" if table is not None else resource["path"],
            "description": f"{resource['description']} (format {fmt.upper()})",
            "type": "main",
            "filetype": "remote",
            "url": f"{page}latest/{resource['path']}",
            "format": fmt,
            "mime": resource["mediatype"],
            "filesize": resource["bytes"],
            "checksum": {"type": "sha256", "value": resource["hash"].removeprefix("sha256:")},
        }
        if table is not None:  # the workbook holds several tables: no one schema describes it
            entry["schema"] = {"url": schema_url(base_url, table)}
        resources.append(entry)
    resources.append(
        {
            "title": "Historique des versions (CHANGELOG.md)",
            "description": "Chaque version publiée : date, niveau, motifs et lignes ajoutées, "
            "modifiées ou supprimées par table.",
            "type": "documentation",
            "filetype": "remote",
            "url": f"{page}CHANGELOG.md",
            "format": "md",
            "mime": "text/markdown",
        }
    )
    payload: dict[str, Any] = {
        "title": config.title,
        "description": config.description,
        "acronym": None,
        "license": UDATA_LICENCES.get(config.licence.id, "notspecified"),
        "frequency": UDATA_FREQUENCIES[config.frequency],
        "tags": sorted({slugify_tag(k) for k in config.keywords if slugify_tag(k)}),
        "extras": {"ogp:identifiant": f"{base_url}datasets/{config.slug}", "ogp:version": version},
        "resources": resources,
    }
    if config.temporal_coverage is not None:
        payload["temporal_coverage"] = {
            "start": config.temporal_coverage.start.isoformat(),
            "end": config.temporal_coverage.end.isoformat(),
        }
    if config.spatial_coverage in UDATA_ZONES:
        zone, granularity = UDATA_ZONES[config.spatial_coverage]
        payload["spatial"] = {"zones": [zone], "granularity": granularity}
    return payload


def udata_bytes(payload: dict[str, Any]) -> bytes:
    """``udata.json`` as written: UTF-8 JSON with sorted keys, so equal payloads give equal bytes."""
    return (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def quality_score(payload: dict[str, Any], resources_available: bool = True) -> tuple[float, dict[str, bool]]:
    """udata's quality criteria and normalised score for a dataset created from ``payload``.

    ``resources_available``: udata checks remote resources with its link checker; the
    published files are served, so they are taken as available unless said otherwise.
    """
    frequency = payload.get("frequency")
    has_frequency = frequency not in (None, "unknown")
    quality: dict[str, bool] = {
        "license": bool(payload.get("license")),
        "temporal_coverage": bool(payload.get("temporal_coverage")),
        "spatial": bool(payload.get("spatial")),
        "update_frequency": has_frequency,
        "dataset_description_quality": len(payload.get("description") or "") > QUALITY_DESCRIPTION_LENGTH,
    }
    if has_frequency and frequency in FREQUENCIES_WITHOUT_DELTA:
        quality["update_fulfilled_in_time"] = True
    resources = payload.get("resources") or []
    if resources:
        quality["has_resources"] = True
        quality["has_open_format"] = not all(
            not r.get("format") or r["format"].lower() in CLOSED_FORMATS for r in resources
        )
        quality["all_resources_available"] = resources_available
        quality["resources_documentation"] = any(
            r.get("type") == "documentation" or r.get("description") for r in resources
        )
    counted = [
        "license",
        "temporal_coverage",
        "spatial",
        "update_frequency",
        "update_fulfilled_in_time",
        "dataset_description_quality",
    ]
    if resources:
        counted += ["has_open_format", "all_resources_available", "resources_documentation"]
    score = sum(1 for criterion in counted if quality.get(criterion))
    return score / QUALITY_MAX_SCORE, quality
