"""State: the one policy on the invented sample submissions, which every stage asks.

The bundled samples exist so that a first ``make run`` publishes something. They never go
where real data is: a state folder that has received a real file, or an output that holds
a version built from real files, refuses them; a dataset built from them says so in its
title and description wherever it is shown (« [Données d'exemple] »), and its versions
are marked ``"exemple": true`` in ``versions.json``. Deciding whether a run uses the
samples is the recorded campaign's job (``state.campaign``); this module says what
follows from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipelines.core.config import DatasetConfig, SubmissionsSource
from pipelines.core.errors import ConfigError

# The title of a dataset published from sample submissions starts with this, in every file
# and page that shows it.
SAMPLE_TITLE_PREFIX = "[Données d'exemple] "


class SamplesOverRealData(ConfigError):
    """A run would put the invented samples where real submissions were received or
    published. ``slug`` is the dataset, ``where`` the state folder or output concerned."""

    def __init__(self, message: str, *, slug: str, where: Path, hint: str = "") -> None:
        super().__init__(message, hint=hint, slug=slug, where=where)
        self.slug = slug
        self.where = where


def is_sample(config: DatasetConfig) -> bool:
    """Whether this (resolved) dataset is published from the bundled samples."""
    return isinstance(config.source, SubmissionsSource) and config.source.sample


def labelled(config: DatasetConfig) -> DatasetConfig:
    """The definition as published: a sample dataset says so in its title and description."""
    source = config.source
    if not isinstance(source, SubmissionsSource) or not source.sample:
        return config
    if config.title.startswith(SAMPLE_TITLE_PREFIX):
        return config
    return config.model_copy(
        update={
            "title": f"{SAMPLE_TITLE_PREFIX}{config.title}",
            "description": f"{source.sample_notice or ''}\n\n{config.description}".strip(),
        }
    )


def title_says_sample(title: str) -> bool:
    """Whether a published title is a sample dataset's (versions logged before the mark)."""
    return title.startswith(SAMPLE_TITLE_PREFIX)


def _refusal(config: DatasetConfig, what: str, where: Path) -> SamplesOverRealData:
    return SamplesOverRealData(
        f"{config.slug} : {what} ; cette exécution publierait à leur place les soumissions "
        "d'exemple (inventées). Rien n'a été écrit.",
        slug=config.slug,
        where=where,
        hint="Indiquez la boîte de dépôt réelle : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite "
        "ogp run … (une tâche planifiée doit définir cette variable elle aussi). Pour une "
        "démonstration sur les exemples, utilisez un autre --out et un autre --state-dir.",
    )


def refuse_over_real_state(config: DatasetConfig, state: Path, has_real_submissions: bool) -> None:
    """Stops a sample run on a state folder that has received real submissions."""
    if is_sample(config) and has_real_submissions:
        raise _refusal(config, f"le dossier d'état {state} a reçu des soumissions réelles", state)


def refuse_over_real_output(config: DatasetConfig, out: Path, real_versions: Iterable[str]) -> None:
    """Stops a sample release where versions built from real submissions were published
    (``real_versions``: their numbers, read by the publisher from ``versions.json``)."""
    real = list(real_versions)
    if is_sample(config) and real:
        raise _refusal(
            config,
            f"la publication {out} contient des versions construites à partir de soumissions "
            f"réelles ({', '.join(real)})",
            out,
        )
