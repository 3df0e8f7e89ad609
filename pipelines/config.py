"""Configuration: dataset definitions (``datasets/*/dataset.yaml``) and run settings.

Settings are layered as data.gouv.fr's hydra does: packaged defaults, then environment
variables (``OGP_*``), then a ``check()`` of invariants before anything runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Publisher(BaseModel, frozen=True):
    name: str
    acronym: str | None = None


class Licence(BaseModel, frozen=True):
    id: str
    title: str
    url: str


class Period(BaseModel, frozen=True):
    start: dt.date
    end: dt.date


class SourceSnapshot(BaseModel, frozen=True):
    """A source file kept in the repo with its provenance (owid/etl's snapshot habit)."""

    kind: Literal["plan_document"]
    path: Path
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    original_name: str | None = None
    title: str
    publisher: str
    date: str
    licence: str
    note: str | None = None


class PlanReference(BaseModel, frozen=True):
    organisations: Path
    ambition_heading_variants: Path


class DatasetConfig(BaseModel, frozen=True):
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    description: str
    publisher: Publisher
    keywords: tuple[str, ...] = ()
    licence: Licence
    temporal_coverage: Period | None = None
    spatial_coverage: str | None = None
    source: SourceSnapshot
    reference: PlanReference
    tables: tuple[str, ...]
    directory: Path = Field(exclude=True)

    def resolve(self, relative: Path) -> Path:
        return self.directory / relative


def load_dataset(directory: Path) -> DatasetConfig:
    """Reads one ``dataset.yaml``; a missing or malformed file is a :class:`ConfigError`."""
    path = directory / "dataset.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = DatasetConfig(**raw, directory=directory)
    except FileNotFoundError as exc:
        raise ConfigError(f"Définition de jeu de données introuvable : {path}") from exc
    except (yaml.YAMLError, TypeError, ValidationError) as exc:
        raise ConfigError(
            f"Définition de jeu de données invalide ({path}) : {exc}",
            hint="Comparez le fichier avec datasets/plan-action-pgo-2021-2023/dataset.yaml.",
        ) from exc
    if config.slug != directory.name:
        raise ConfigError(
            f"Le slug « {config.slug} » ne correspond pas au dossier « {directory.name} ».",
            hint="L'identité d'un jeu de données est son chemin : renommez l'un ou l'autre.",
        )
    return config


def load_catalog(datasets_dir: Path) -> list[DatasetConfig]:
    """Every dataset of the catalogue, in slug order (a deterministic run order)."""
    directories = sorted(p.parent for p in datasets_dir.glob("*/dataset.yaml"))
    if not directories:
        raise ConfigError(f"Aucun jeu de données dans {datasets_dir}.")
    return [load_dataset(d) for d in directories]


class Settings(BaseSettings):
    """Run settings: packaged defaults overridden by ``OGP_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="OGP_")

    datasets_dir: Path = PROJECT_ROOT / "datasets"
    schemas_dir: Path = PROJECT_ROOT / "schemas"

    def check(self) -> Settings:
        for name in ("datasets_dir", "schemas_dir"):
            if not getattr(self, name).is_dir():
                raise ConfigError(f"Dossier introuvable pour {name} : {getattr(self, name)}")
        return self
