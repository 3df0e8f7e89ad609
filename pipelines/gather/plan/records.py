"""Gather stage: the plan dataset's records, from its snapshot and curated references."""

from __future__ import annotations

import yaml

from pipelines.core.config import DatasetConfig, PlanReference, SourceSnapshot
from pipelines.core.errors import ConfigError, ParseError
from pipelines.gather.plan.document import parse_plan_document
from pipelines.gather.plan.organisations import OrganisationReference
from pipelines.gather.plan.tables import Tables, derive_plan_tables
from pipelines.gather.plan.targets import load_targets
from pipelines.gather.snapshot import decode_text, fetch_snapshot


def _plan_reference(config: DatasetConfig) -> PlanReference:
    if config.reference is None:
        raise ConfigError(f"{config.slug} : la section reference de dataset.yaml manque.")
    return config.reference


def load_heading_variants(config: DatasetConfig) -> dict[str, str]:
    path = config.resolve(_plan_reference(config).ambition_heading_variants)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        variants = raw.get("variantes") or {}
    except (FileNotFoundError, yaml.YAMLError, AttributeError) as exc:
        raise ConfigError(f"Variantes de titres d'ambition illisibles : {path} ({exc})") from exc
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in variants.items()):
        raise ConfigError(f"Variantes de titres d'ambition : clés et valeurs doivent être du texte ({path}).")
    return variants


def gather_plan_records(config: DatasetConfig) -> Tables:
    """Checksum-verified snapshot → parsed document → rows of the plan tables, and the
    curated targets checked against the actions' texts when the dataset has them."""
    source = config.source
    if not isinstance(source, SourceSnapshot):
        raise ConfigError(f"{config.slug} n'est pas un plan d'action (source {source.kind}).")
    snapshot = fetch_snapshot(config.resolve(source.path), source.sha256)
    reference = OrganisationReference.load(config.resolve(_plan_reference(config).organisations))
    try:
        engagements = parse_plan_document(
            decode_text(snapshot), reference.is_known, load_heading_variants(config)
        )
    except ParseError as exc:
        exc.path = config.resolve(source.path)  # the file the line number is in
        raise
    tables = derive_plan_tables(engagements, reference)
    targets = _plan_reference(config).targets
    if targets is not None and "cibles" in config.tables:
        tables["cibles"] = load_targets(
            config.resolve(targets), {a["id_action"]: a["texte"] for a in tables["actions"]}
        )
    return tables
