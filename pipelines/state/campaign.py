"""State: the campaign a state folder serves, recorded once and read by every command.

A progress dataset's state folder (``<state>/<slug>/``) records, when it first receives a
file, what it serves: the dataset, whether it is the invented samples or real reports,
the inbox folder, the URLs polled and the output its versions are published to
(``campagne.json``). From then on ``ogp run``, ``status``, ``validate``, ``withdraw``,
``rollback``, the door and the reminders all read it: an environment variable or option
that contradicts it is an error naming both values, never a silent switch (to the
samples, to another inbox, to another output).

A state folder that has no record yet serves what the run asks (``OGP_SUBMISSIONS_INBOX``,
else the dataset's own inbox); one that received real files before records existed is a
real campaign whose inbox must be given again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipelines.core.config import DatasetConfig, Settings, SubmissionsSource
from pipelines.core.errors import ConfigError
from pipelines.io.atomic import write_atomically
from pipelines.state.journal import Journal
from pipelines.state.layout import ArchiveLayout
from pipelines.state.samples import labelled

CAMPAIGN_FORMAT = 1


@dataclass(frozen=True)
class Campaign:
    """What one state folder serves. ``inbox`` is absolute (``None``: a campaign recorded
    before campaigns were, whose inbox is not known); ``output`` is where its versions are
    published (``None``: not yet published); ``urls`` are shown redacted."""

    dataset: str
    sample: bool
    inbox: Path | None
    output: Path | None = None
    urls: tuple[str, ...] = ()
    recorded_at: str = ""
    deadline: str | None = None  # ISO date the bodies are asked to report by, if any

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": CAMPAIGN_FORMAT,
            "jeu_de_donnees": self.dataset,
            "exemple": self.sample,
            "boite_de_depot": str(self.inbox) if self.inbox else None,
            "sortie": str(self.output) if self.output else None,
            "adresses": list(self.urls),
            "enregistree_le": self.recorded_at,
        }
        if self.deadline is not None:
            document["echeance"] = self.deadline
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Campaign:
        inbox, output = document.get("boite_de_depot"), document.get("sortie")
        return cls(
            dataset=str(document["jeu_de_donnees"]),
            sample=bool(document.get("exemple", False)),
            inbox=Path(inbox) if inbox else None,
            output=Path(output) if output else None,
            urls=tuple(document.get("adresses", ())),
            recorded_at=str(document.get("enregistree_le", "")),
            deadline=document.get("echeance"),
        )

    @property
    def kind(self) -> str:
        """In French, for messages: « exemples » or « réelle »."""
        return "d'exemple" if self.sample else "réelle"


class CampaignMismatch(ConfigError):
    """A setting or option contradicts the campaign recorded in the state folder.
    ``setting`` names it (``OGP_SUBMISSIONS_INBOX``, ``--out``); ``recorded`` and
    ``given`` are the two values."""

    def __init__(self, message: str, *, setting: str, recorded: str, given: str, hint: str = "") -> None:
        super().__init__(message, hint=hint, setting=setting, recorded=recorded, given=given)
        self.setting = setting
        self.recorded = recorded
        self.given = given


class NoCampaign(ConfigError):
    """A command that reads a campaign was pointed at a state folder that holds none."""

    def __init__(self, message: str, *, state: Path, hint: str = "") -> None:
        super().__init__(message, hint=hint, state=state)
        self.state = state


def read_campaign(layout: ArchiveLayout) -> Campaign | None:
    """The recorded campaign, or ``None`` if the folder has none yet."""
    if not layout.campaign.exists():
        return None
    try:
        return Campaign.from_json(json.loads(layout.campaign.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"La campagne enregistrée est illisible : {layout.campaign} ({exc}).",
            hint="Restaurez ce fichier depuis une sauvegarde ; rien n'a été modifié.",
        ) from exc


def write_campaign(layout: ArchiveLayout, campaign: Campaign) -> None:
    write_atomically(
        layout.campaign,
        (json.dumps(campaign.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    )


@dataclass(frozen=True)
class ResolvedCampaign:
    """The campaign a command works on: the dataset as it publishes (its source pointing at
    the campaign's inbox, titled as sample data when it is), the campaign, and whether it
    was recorded already (``recorded``) or would be at its first reception."""

    config: DatasetConfig
    campaign: Campaign
    recorded: bool
    layout: ArchiveLayout = field(compare=False)

    @property
    def source(self) -> SubmissionsSource:
        source = self.config.source
        assert isinstance(source, SubmissionsSource)
        return source


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_campaign(
    config: DatasetConfig, settings: Settings, *, out: Path | None = None
) -> ResolvedCampaign:
    """The campaign of a progress dataset in ``settings.state_dir``, checked against what
    this run asks (``OGP_SUBMISSIONS_INBOX``, ``out``). Reads only.

    Raises :class:`CampaignMismatch` when a setting contradicts the record."""
    source = config.source
    if not isinstance(source, SubmissionsSource):
        raise ConfigError(f"Le jeu de données {config.slug} n'est pas alimenté par des soumissions.")
    layout = ArchiveLayout(settings.state_dir / config.slug)
    recorded = read_campaign(layout)
    requested = settings.submissions_inbox.resolve() if settings.submissions_inbox else None
    output = out.resolve() if out is not None else None
    urls = tuple(_shown_url(u.url) for u in source.urls)
    if recorded is not None and recorded.sample and requested is not None:
        recorded = None  # the samples give way to the real inbox (never the reverse)
    if recorded is not None:
        if requested is not None and requested != recorded.inbox:
            raise CampaignMismatch(
                f"OGP_SUBMISSIONS_INBOX désigne {requested}, mais le dossier d'état {layout.root} sert la "
                f"campagne {recorded.kind} de la boîte {recorded.inbox or '(inconnue)'}.",
                setting="OGP_SUBMISSIONS_INBOX",
                recorded=str(recorded.inbox),
                given=str(requested),
                hint="Retirez la variable (la campagne enregistrée s'applique), ou utilisez un autre "
                "--state-dir pour une autre campagne.",
            )
        if output is not None and recorded.output is not None and output != recorded.output:
            raise CampaignMismatch(
                f"--out désigne {output}, mais la campagne du dossier d'état {layout.root} publie dans "
                f"{recorded.output}.",
                setting="--out",
                recorded=str(recorded.output),
                given=str(output),
                hint=f"Omettez --out, ou indiquez --out {recorded.output} ; pour une autre publication, "
                "utilisez aussi un autre --state-dir.",
            )
        campaign = recorded
    elif requested is not None:
        campaign = Campaign(config.slug, False, requested, output, urls, _now())
    elif source.sample is False or not _has_real(layout):
        campaign = Campaign(
            config.slug, source.sample, config.resolve(source.inbox).resolve(), output, urls, _now()
        )
    else:
        # Real files received before campaigns were recorded: a real campaign whose inbox
        # must be given again (never the samples).
        campaign = Campaign(config.slug, False, None, output, urls, _now())
    effective = source.model_copy(update={"inbox": campaign.inbox or source.inbox, "sample": campaign.sample})
    resolved = labelled(config.model_copy(update={"source": effective}))
    return ResolvedCampaign(resolved, campaign, recorded is not None, layout)


def record_campaign(resolved: ResolvedCampaign, *, output: Path | None = None) -> Campaign:
    """Records the campaign at its first reception (the caller holds the state lock); adds
    the output the first time a version is published. Returns the campaign as recorded."""
    campaign = resolved.campaign
    current = read_campaign(resolved.layout)
    if current is not None:
        campaign = current
    if output is not None and campaign.output is None:
        campaign = Campaign(
            campaign.dataset,
            campaign.sample,
            campaign.inbox,
            output.resolve(),
            campaign.urls,
            campaign.recorded_at,
            campaign.deadline,
        )
    if campaign != current:
        write_campaign(resolved.layout, campaign)
    return campaign


def require_campaign(resolved: ResolvedCampaign) -> None:
    """For commands that read a campaign's files: a state folder that holds none says so."""
    if not resolved.recorded and not resolved.layout.journal.exists():
        raise NoCampaign(
            f"Le dossier d'état {resolved.layout.root} ne contient aucune campagne de "
            f"{resolved.campaign.dataset} : aucun fichier n'y a été reçu.",
            state=resolved.layout.root,
            hint="Vérifiez --state-dir (ou OGP_STATE_DIR) : c'est le dossier que lit ogp run.",
        )


def _has_real(layout: ArchiveLayout) -> bool:
    return any(not r.sample for r in Journal(layout.journal).receptions())


def _shown_url(url: str) -> str:
    """A URL as the record keeps it: scheme, host, port and path; never user info or a
    query, where tokens hide."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def dataset_for_run(config: DatasetConfig, settings: Settings, *, out: Path | None = None) -> DatasetConfig:
    """A dataset as this run publishes it: a progress dataset resolved against its recorded
    campaign (its inbox, its sample label); any other as it is defined."""
    if not isinstance(config.source, SubmissionsSource):
        return config
    return resolve_campaign(config, settings, out=out).config


def set_deadline(resolved: ResolvedCampaign, deadline: dt.date | None) -> Campaign:
    """Records the date the bodies are asked to report by (``None``: no deadline), recording
    the campaign itself if it was not yet. The caller holds the state lock."""
    current = read_campaign(resolved.layout) or resolved.campaign
    campaign = dataclasses.replace(current, deadline=deadline.isoformat() if deadline else None)
    write_campaign(resolved.layout, campaign)
    return campaign
