"""Core: the small exception tree callers branch on.

Exceptions carry the fields a caller needs as attributes (and a fix hint) rather than
prose only, so that the command, Prefect state messages and reports can all render them
and tests assert on data, not wording. Bad *data* is returned as issues by the
validators; these exceptions are for control flow. ``exit_code`` is what the ``ogp``
command exits with (see ``pipelines.cli``): 1 for invalid data, 2 for everything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.core.problems import Problem


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose.

    ``message`` is a French sentence for a data steward, ``hint`` says how to fix it.
    """

    retryable: bool = False
    # What the ``ogp`` command exits with: 2 for a source, configuration or publication
    # problem; 1 for invalid data (ValidationFailed).
    exit_code: int = 2

    def __init__(self, message: str, *, hint: str = "", **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context

    def __str__(self) -> str:
        return f"{self.message}\n→ {self.hint}" if self.hint else self.message


class ConfigError(PipelineError):
    """A dataset definition, curated reference file or setting is wrong: never retry."""


class NotFound(ConfigError):
    """A file or folder a command or a setting names does not exist (``path``)."""

    def __init__(self, message: str, *, path: Path, hint: str = "") -> None:
        super().__init__(message, hint=hint, path=path)
        self.path = path


class SourceUnavailable(PipelineError):
    """A source could not be read now (network, missing file): may succeed later."""

    retryable = True


class SourceChanged(PipelineError):
    """A source snapshot no longer matches the checksum recorded in its provenance."""


class ParseError(PipelineError):
    """A source document does not have the structure the parser relies on.

    ``line`` is the line of the document where the parser stopped (when there is one) and
    ``path`` the file to look at, set by the gatherer that read it."""

    def __init__(
        self, message: str, *, line: int | None = None, path: Path | None = None, hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.path = path


class ValidationFailed(PipelineError):
    """A build holds invalid data: nothing was published. Never retry."""

    exit_code = 1

    def __init__(self, message: str, issues: list[Problem], *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.issues = issues


class PublishError(PipelineError):
    """Writing or committing a version failed; the previous version is still served."""


class DataRejected(PipelineError):
    """Data a command was given to check is invalid, and each problem was already said where
    it was found (a report, the command's own output): ``rejected`` names what was
    refused (files), ``problems`` counts the errors when known. Never retry."""

    exit_code = 1

    def __init__(
        self, message: str, *, rejected: list[str], problems: int | None = None, hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint, rejected=rejected, problems=problems)
        self.rejected = rejected
        self.problems = problems
