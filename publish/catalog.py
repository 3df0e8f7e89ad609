"""Publish stage: the catalogue files and pages at the root of the output, rewritten after the datasets.

``catalog.{ttl,jsonld,rdf}`` follow DCAT-AP 3.0 to the letter (for data.europa.eu, CKAN
with ckanext-dcat and any DCAT-AP harvester); ``catalog-datagouv.{ttl,jsonld,rdf}`` are
the same graph with untyped checksum values, for data.gouv.fr's harvester (see
``publish.metadata.dcat``). The Table Schemas the distributions conform to are published
at ``schemas/<table>.json`` so that every ``dct:conformsTo`` resolves; the Atom feeds of
versions (``publish.feeds``: ``versions.atom`` at the root and in each dataset's folder)
and the pages (``publish.site``) are regenerated from the same facts. Written under the
output's lock, after every dataset's ``latest`` has switched: the catalogue never
announces a version that is not served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.core.config import (
    CatalogConfig,
    DatasetConfig,
    Settings,
    load_catalog,
    load_catalog_config,
)
from pipelines.io.atomic import write_atomically
from pipelines.io.lock import exclusive
from pipelines.state.campaign import dataset_for_run
from publish.feeds import feed_files
from publish.metadata.dcat import PublishedDataset, build_catalog, serialise
from publish.portal import url_problem
from publish.site.pages import render_site

PROFILES = {"catalog": "dcat-ap", "catalog-datagouv": "datagouv"}
EXTENSIONS = ("ttl", "jsonld", "rdf")
SCHEMAS_DIR = "schemas"


def publish_catalog(
    out: Path,
    catalog_config: CatalogConfig,
    configs: list[DatasetConfig],
    schemas: dict[str, bytes],
    base_url: str,
    *,
    lock_timeout: float = 600.0,
) -> list[str]:
    """Writes the catalogue, schema, feed and page files that changed; returns their names."""
    written: list[str] = []
    with exclusive(out, timeout=lock_timeout, what="Publication du catalogue"):
        datasets = [d for d in (PublishedDataset.read(out, c) for c in configs) if d is not None]
        files: dict[str, bytes] = {
            f"{SCHEMAS_DIR}/{name}.json": content for name, content in sorted(schemas.items())
        }
        for prefix, profile in PROFILES.items():
            graph = build_catalog(catalog_config, datasets, base_url, profile)  # type: ignore[arg-type]
            for extension in EXTENSIONS:
                files[f"{prefix}.{extension}"] = serialise(graph, extension)
        files.update(feed_files(out, catalog_config, datasets, base_url))
        files.update(
            render_site(
                out,
                catalog_config,
                datasets,
                base_url,
                {name: json.loads(content) for name, content in schemas.items()},
            )
        )
        for name, content in files.items():
            path = out / name
            if path.exists() and path.read_bytes() == content:
                continue
            write_atomically(path, content)
            written.append(name)
    return written


# Said in every published schema whose table has foreign keys (see ``standalone``).
KEYS_NOTE = (
    "Ce schéma se suffit à lui-même : il valide un fichier de la table seul. Les renvois "
    "vers d'autres tables (clés étrangères), décrits dans les champs concernés, sont "
    "vérifiés à chaque publication et déclarés dans le Data Package de chaque version "
    "(datapackage.json), qui réunit les tables."
)


def standalone(schema: dict[str, Any]) -> dict[str, Any]:
    """A table's schema as published on its own: without its foreign keys.

    ``frictionless validate --schema T.json T.csv`` (what schema.data.gouv.fr's CI and
    Validata run, and what udata's ``schema.url`` and DCAT's ``dct:conformsTo`` of one
    file mean) checks one file: a foreign key needs the other table, so frictionless
    refuses the whole check (« package is required for foreign keys »). The keys stay in
    each version's ``datapackage.json`` (the tables of one dataset; the keys to the plan's
    tables are checked at build time) and in the descriptions of their fields, which name
    the table they point at (a test holds every one)."""
    if not schema.get("foreignKeys"):
        return dict(schema)
    kept = {k: v for k, v in schema.items() if k != "foreignKeys"}
    kept["description"] = f"{schema['description']} {KEYS_NOTE}"
    return kept


def local_address_notice(base_url: str) -> str | None:
    """What a steward must be told, once per run, when the published addresses are not public
    (the default ``http://127.0.0.1:8000/``, a private network): None when they are."""
    problem = url_problem(base_url)
    if problem is None:
        return None
    return (
        f"Adresses non publiques ({problem}) : le catalogue, les schémas, les flux et les pages "
        f"publiés donnent les adresses {base_url}…, qui ne valent que sur cet ordinateur ou ce "
        "réseau (ogp serve). Pour publier, relancez avec l'adresse publique du site : "
        "OGP_BASE_URL=https://votre-domaine.fr/ ogp run."
    )


def schema_files(schemas_dir: Path, configs: list[DatasetConfig], base_url: str) -> dict[str, bytes]:
    """The Table Schema of every table, as published beside the data.

    The file of ``schemas/`` without its foreign keys (``standalone``) plus what
    schema.data.gouv.fr asks of a published schema: its own URL (``path``), a
    ``homepage`` and an example file that is valid (``resources``: the table's latest
    CSV, which passed the schema to be published), valid against this file alone.
    """
    files = {}
    for config in configs:
        for table in config.tables:
            schema = standalone(json.loads((schemas_dir / f"{table}.json").read_text(encoding="utf-8")))
            schema.update(
                {
                    "path": f"{base_url}{SCHEMAS_DIR}/{table}.json",
                    "homepage": f"{base_url}datasets/{config.slug}/",
                    "resources": [
                        {
                            "title": f"Exemple valide : la table {table} publiée",
                            "path": f"{base_url}datasets/{config.slug}/latest/{table}.csv",
                        }
                    ],
                }
            )
            files[table] = (json.dumps(schema, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return files


def refresh_catalog(out: Path, settings: Settings) -> list[str]:
    """The catalogue of ``out`` rewritten from the dataset definitions and what is served."""
    configs = [dataset_for_run(c, settings) for c in load_catalog(settings.datasets_dir)]
    return publish_catalog(
        out,
        load_catalog_config(settings.datasets_dir),
        configs,
        schema_files(settings.schemas_dir, configs, settings.base_url),
        settings.base_url,
        lock_timeout=settings.lock_timeout,
    )
