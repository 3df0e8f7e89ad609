"""Core: dataset definitions (``datasets/*/dataset.yaml``) and run settings.

Settings are layered as data.gouv.fr's hydra does: packaged defaults, then environment
variables (``OGP_*``), then a ``check()`` of invariants before anything runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # pipelines/core/config.py


class Publisher(BaseModel, frozen=True):
    name: str
    acronym: str | None = None
    url: str | None = None


class Contact(BaseModel, frozen=True):
    name: str
    url: str = Field(pattern=r"^https?://")
    email: str | None = None


# EU frequency authority table codes (publications.europa.eu/resource/authority/frequency).
Frequency = Literal[
    "AS_NEEDED", "IRREG", "NEVER", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "CONT", "UNKNOWN"
]


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

    def provenance(self) -> dict[str, str]:
        """The source as a Data Package ``sources`` entry."""
        return {
            "title": self.title,
            "publisher": self.publisher,
            "date": self.date,
            "licence": self.licence,
            "sha256": self.sha256,
        }


class HttpSubmissionSource(BaseModel, frozen=True):
    """A URL a body publishes its progress report at (polled with conditional GET)."""

    url: str = Field(pattern=r"^https?://")
    organisation: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]*$")
    # Name of the environment variable holding a bearer token: never the token itself.
    token_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")


class SubmissionLimits(BaseModel, frozen=True):
    max_bytes: int = Field(default=10 * 2**20, gt=0)
    max_rows: int = Field(default=10_000, gt=0)


class SubmissionsSource(BaseModel, frozen=True):
    """Progress reports sent by the bodies responsible: an inbox folder and URLs."""

    kind: Literal["submissions"]
    plan: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    publisher: str
    inbox: Path
    sample: bool = False
    sample_notice: str | None = None
    # When the invented sample files are said to have arrived (their modification times
    # are those of a checkout, not of a delivery): a fixed date keeps their rows' bytes.
    sample_arrived_at: dt.datetime = dt.datetime(2023, 1, 16, 9, 0, tzinfo=dt.UTC)
    urls: tuple[HttpSubmissionSource, ...] = ()
    limits: SubmissionLimits = SubmissionLimits()
    # Bodies entitled to report on an action they are not responsible for (a delegated
    # report): action id → organisation ids. Anyone else's row about it is rejected.
    reporters: dict[str, tuple[str, ...]] = {}
    # Whether the published ``soumissions`` table also lists the rejected files (nothing of
    # them is published either way): off, it lists the files whose rows are published or
    # that were withdrawn.
    list_rejected_files: bool = False

    def provenance(self) -> dict[str, str]:
        return {"title": self.title, "publisher": self.publisher}


class TableFileSource(BaseModel, frozen=True):
    """A whole table delivered as one CSV file, too large for per-row submissions: a body's
    consolidated export (millions of rows). Checked on Arrow columns, with frictionless's
    semantics; a rejected file is kept with its report, like a submission."""

    kind: Literal["table_file"]
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: Path  # relative to the dataset folder
    plan: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    publisher: str

    def provenance(self) -> dict[str, str]:
        return {"title": self.title, "publisher": self.publisher}


class PlanReference(BaseModel, frozen=True):
    organisations: Path
    ambition_heading_variants: Path
    # The targets stated in the actions' texts, read by a person (the ``cibles`` table).
    targets: Path | None = None


class DatasetConfig(BaseModel, frozen=True):
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    description: str
    publisher: Publisher
    keywords: tuple[str, ...] = ()
    licence: Licence
    temporal_coverage: Period | None = None
    spatial_coverage: str | None = None
    frequency: Frequency = "UNKNOWN"
    themes: tuple[str, ...] = ()  # EU data-theme codes, e.g. GOVE
    contact: Contact | None = None
    source: SourceSnapshot | SubmissionsSource | TableFileSource = Field(discriminator="kind")
    reference: PlanReference | None = None
    tables: tuple[str, ...]
    # Tables also published together as one xlsx workbook (one sheet each, in this order):
    # for people who open data in a spreadsheet. Empty: no workbook.
    workbook: tuple[str, ...] = ()
    # The udata organisation (id or slug) ``ogp publish`` creates the dataset under.
    portal_organisation: str | None = None
    directory: Path = Field(exclude=True)

    @model_validator(mode="after")
    def _workbook_of_tables(self) -> DatasetConfig:
        unknown = [t for t in self.workbook if t not in self.tables]
        if unknown:
            raise ValueError(f"workbook : tables absentes de tables : {', '.join(unknown)}")
        return self

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


class CatalogConfig(BaseModel, frozen=True):
    """``datasets/catalogue.yaml``: the catalogue's own title, description and publisher."""

    title: str
    description: str
    publisher: Publisher


def load_catalog_config(datasets_dir: Path) -> CatalogConfig:
    path = datasets_dir / "catalogue.yaml"
    try:
        return CatalogConfig(**yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"Description du catalogue introuvable : {path}") from exc
    except (yaml.YAMLError, TypeError, ValidationError) as exc:
        raise ConfigError(f"Description du catalogue invalide ({path}) : {exc}") from exc


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
    # Received submissions, their reports and HTTP validators: kept apart from the
    # published output, so that deleting the output loses nothing.
    state_dir: Path = Path("var")
    # A real inbox of progress submissions, instead of the bundled samples.
    submissions_inbox: Path | None = None
    # How long a run waits for another one publishing to the same folder.
    lock_timeout: float = Field(default=600.0, ge=0)
    # Prefect retries of tasks that may heal (unreadable sources), and the wait between.
    task_retries: int = Field(default=2, ge=0)
    task_retry_delay: float = Field(default=30.0, ge=0)
    # The udata portal's API key (OGP_PORTAL_API_KEY): a secret, never printed, logged or
    # written (repr and str of a SecretStr hide it).
    portal_api_key: SecretStr | None = None
    # The portal organisation (id or slug) datasets are created under (OGP_PORTAL_ORGANISATION);
    # over a dataset's own ``portal_organisation``. None: the key owner's account.
    portal_organisation: str | None = None
    # Files above this many bytes are uploaded to the portal in parts (udata's chunked upload).
    portal_chunk_size: int = Field(default=2_000_000, gt=0)
    # Where the output folder is served: every absolute URL of the metadata starts here.
    base_url: str = Field(default="http://127.0.0.1:8000/", pattern=r"^https?://.+/$")
    # Mail (receipts, reminders, alerts): the SMTP relay. Unset host: no mail is sent, and
    # the commands say so once. The password is a secret, never printed, logged or written.
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, gt=0, lt=65536)  # None: 587, 465 (ssl) or 25 (none)
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    # A CA bundle (PEM) to verify the relay's certificate with, for a relay of a private CA;
    # None: the system's CAs.
    smtp_ca_file: Path | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)
    # The sender of every mail: an address, or « Nom <adresse> ».
    mail_from: str | None = None
    # Who the alerts of scheduled runs go to (ogp watch): the stewards' addresses, « , »
    # between them. A setting, not the campaign's contacts: those are the bodies'.
    alert_to: str | None = None

    @property
    def mail_configured(self) -> bool:
        """Whether mail is to be sent (``OGP_SMTP_HOST`` set); ``check`` holds the rest."""
        return bool(self.smtp_host)

    # The bodies' door (ogp dropoff): the address its personal links start with (what the
    # bodies' browsers reach: the reverse proxy's public address in production).
    dropoff_url: str = Field(default="http://127.0.0.1:8080/", pattern=r"^https?://[^\s]+$")
    # Signs the door's session cookies (OGP_DROPOFF_SECRET_KEY, a secret never written);
    # unset, a random key per start: sessions end when the server restarts (the links do not).
    dropoff_secret_key: SecretStr | None = None
    # Rate limits (Flask-Limiter's notation, « ; » between limits): uploads per access, every
    # request per address, and links that open nothing per address.
    dropoff_upload_limit: str = "12 per minute;300 per day"
    dropoff_address_limit: str = "300 per minute"
    dropoff_failed_limit: str = "10 per minute;50 per hour"
    # The reverse proxy's address, whose X-Forwarded-For and -Proto are believed; unset: none.
    dropoff_trusted_proxy: str | None = None
    dropoff_threads: int = Field(default=8, ge=1, le=64)
    # The Prefect deployment an accepted upload triggers (« flux/déploiement »), when a Prefect
    # server is configured (PREFECT_API_URL); unset: nothing is published on upload.
    dropoff_publish_deployment: str | None = None

    def check(self) -> Settings:
        for name in ("datasets_dir", "schemas_dir"):
            if not getattr(self, name).is_dir():
                raise ConfigError(f"Dossier introuvable pour {name} : {getattr(self, name)}")
        if self.submissions_inbox is not None and not self.submissions_inbox.is_dir():
            raise ConfigError(
                f"Boîte de dépôt des soumissions introuvable : {self.submissions_inbox}",
                hint="Créez le dossier ou corrigez OGP_SUBMISSIONS_INBOX.",
            )
        if self.smtp_host:
            self._check_mail()
        return self

    def _check_mail(self) -> None:
        """Mail settings that cannot work, said before anything is sent."""
        if not self.mail_from:
            raise ConfigError(
                "OGP_SMTP_HOST est défini mais pas l'expéditeur des courriels.",
                hint="Exportez OGP_MAIL_FROM (par exemple « Équipe PGO <pgo@exemple.gouv.fr> »).",
                setting="OGP_MAIL_FROM",
            )
        if self.smtp_user and self.smtp_tls == "none":
            raise ConfigError(
                "OGP_SMTP_USER est défini avec OGP_SMTP_TLS=none : le mot de passe circulerait en clair.",
                hint="Utilisez OGP_SMTP_TLS=starttls (port 587) ou ssl (port 465).",
                setting="OGP_SMTP_TLS",
            )
        if self.smtp_password and not self.smtp_user:
            raise ConfigError(
                "OGP_SMTP_PASSWORD est défini sans OGP_SMTP_USER.",
                hint="Exportez aussi OGP_SMTP_USER, l'identifiant du compte du relais.",
                setting="OGP_SMTP_USER",
            )
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            raise ConfigError(
                f"Certificat d'autorité introuvable (OGP_SMTP_CA_FILE) : {self.smtp_ca_file}",
                hint="Indiquez un fichier PEM lisible, ou retirez la variable.",
                setting="OGP_SMTP_CA_FILE",
            )


class InvalidSetting(ConfigError):
    """``OGP_*`` variables (or options) whose values do not read: ``names``."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "Réglage illisible : " + ", ".join(names) + ".",
            hint="Corrigez ou retirez ces variables d'environnement (leurs valeurs admises : "
            "README, section Settings).",
            names=names,
        )
        self.names = names


def load_settings(**overrides: Path | str | None) -> Settings:
    """The run settings, built the one way every command and flow builds them: packaged
    defaults, then ``OGP_*`` variables, then the options given (``None``: not given), then
    :meth:`Settings.check`. A variable that does not read (``OGP_LOCK_TIMEOUT=abc``) is an
    :class:`InvalidSetting` naming it, never a traceback (its value is not repeated: it may
    be a secret)."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        settings = Settings(**given)  # type: ignore[arg-type]  # pydantic converts the values
    except ValidationError as exc:
        raise InvalidSetting(
            sorted({f"OGP_{str(e['loc'][0]).upper()}" for e in exc.errors() if e["loc"]})
        ) from None
    return settings.check()
