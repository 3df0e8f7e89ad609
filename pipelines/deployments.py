"""Orchestration: what a scheduled run says to a steward, in Prefect's UI and logs.

The flows (``pipelines.flows``) use these so that a run of a deployment:

- has a name a steward finds: the flow and its day on France's calendar
  (``publication-2026-12-07``, ``collecte-2026-12-07``), or the body and the file of a
  validation (``validation-ditp-rapport.xlsx``), instead of Prefect's random words;
- logs, in French, what the pipeline did (:func:`tell`), and ends with its French message;
- ends Failed, when the pipeline stopped on an error it expects (a
  :class:`~pipelines.core.errors.PipelineError`: invalid data, a missing inbox, an
  unreachable source), with the error's French sentence and fix as the state's message
  and its one log line: no Python traceback, no English wrapper (« Flow run encountered an
  exception », « Engine execution exited… », « Finished in state … »), which
  :class:`KnownErrorsFilter` keeps out of every log. An unexpected error keeps Prefect's
  lines and its traceback: it is a bug report;
- is tagged ``fichiers-rejetes`` when it rejected a file (:func:`tag_run`), so that the
  UI's filters and the watch (``ogp watch``) tell it from a clean run;
- keeps its artifacts under keys naming the dataset, the body and the day.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec

from prefect import State, get_run_logger
from prefect.exceptions import FailedRun, MissingContextError
from prefect.states import Failed

from pipelines.core.errors import PipelineError, ValidationFailed
from pipelines.core.times import in_paris, paris_day, today_in_paris
from pipelines.validate.report import SubmissionReport

P = ParamSpec("P")
ISSUES_IN_MESSAGE = 5


def _day() -> str:
    """The run's day on France's calendar: when it was due (scheduled), else today."""
    from prefect.runtime import flow_run

    due = flow_run.scheduled_start_time
    if isinstance(due, dt.datetime):
        return in_paris(due).date().isoformat()
    return today_in_paris().isoformat()


def _parameters() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def slugified(text: str) -> str:
    """What an artifact key may hold (lowercase letters, digits, dashes)."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-") or "inconnu"


def publication_run_name() -> str:
    return f"publication-{_day()}"


def dataset_run_name() -> str:
    return f"publication-{_parameters().get('slug', 'jeu')}-{_day()}"


def collection_run_name() -> str:
    return f"collecte-{_day()}"


def validation_run_name() -> str:
    parameters = _parameters()
    return (
        f"validation-{parameters.get('org') or 'sans-organisme'}-{Path(str(parameters.get('path', ''))).name}"
    )


def report_key(slug: str, report: SubmissionReport) -> str:
    """``rapport-<dataset>-<body>-<day received, in Paris>-<8 hex of the file's sha256>``:
    one key per file (two files of a body the same day are two keys)."""
    body = report.organisation or "sans-organisme"
    return slugified(f"rapport-{slug}-{body}-{paris_day(report.received_at)}-{report.sha256[:8]}")


def publication_key(slug: str) -> str:
    """``publication-<dataset>-<day>``: the tables of the versions a day's run published."""
    return slugified(f"publication-{slug}-{_day()}")


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (a test of a plain function)
        return logging.getLogger("pipelines.deployments")


def tell(lines: Iterable[str], level: int = logging.INFO) -> None:
    """Logs each line, in French, to the run's log (the UI's Logs tab)."""
    logger = _logger()
    for line in lines:
        logger.log(level, line)


def french_message(exc: PipelineError) -> str:
    """An error as a run's state says it: its sentence, the first issues of invalid data,
    then « Que faire : » and its fix, on one line each (never a literal ``\\n→``)."""
    lines = [exc.message]
    if isinstance(exc, ValidationFailed):
        lines += [
            f"- {i.table or ''}, ligne {i.row or '-'}, {i.field or '-'} : {i.message} ({i.code})"
            for i in exc.issues[:ISSUES_IN_MESSAGE]
        ]
        if len(exc.issues) > ISSUES_IN_MESSAGE:
            lines.append(f"… et {len(exc.issues) - ISSUES_IN_MESSAGE} autre(s) erreur(s).")
    if exc.hint:
        lines.append(f"Que faire : {exc.hint}")
    return "\n".join(lines)


def _command_says_it() -> bool:
    """Under ``ogp run`` without ``--verbose`` (``OGP_QUIET_KNOWN_ERRORS=1``), the command
    prints the run's outcome and error itself: logged too, they would be said twice."""
    return os.environ.get("OGP_QUIET_KNOWN_ERRORS") == "1"


def french_failures(body: Callable[P, State]) -> Callable[P, State]:
    """A flow's body whose expected errors end the run Failed with their French message
    (logged once), not as an exception Prefect would wrap in English and a traceback."""

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> State:
        try:
            return body(*args, **kwargs)
        except PipelineError as exc:
            message = french_message(exc)
            if not _command_says_it():
                _logger().error(message)
            return Failed(message=message, data=exc)  # its caller (ogp run) gets the error itself

    return run


def finished(state: State) -> State:
    """Logs a run's final message (in place of Prefect's « Finished in state … »)."""
    if state.message and not _command_says_it():
        _logger().log(logging.ERROR if state.is_failed() else logging.INFO, state.message)
    return state


def tag_run(tag: str) -> None:
    """Adds ``tag`` to the current flow run (nothing outside a run)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:
        return
    with get_client(sync_client=True) as client:
        tags = list(client.read_flow_run(run_id).tags)
        if tag not in tags:
            client.update_flow_run(run_id, tags=[*tags, tag])


class KnownErrorsFilter(logging.Filter):
    """Keeps Prefect's lines about an error the pipeline expects out of every log: the
    record of a :class:`PipelineError` (« Task run failed with exception… », « Encountered
    exception during execution… », with their tracebacks), of a Failed state a flow of ours
    returned (« Engine execution exited with unexpected exception » over ``FailedRun``) and
    « Finished in state … » (said in French by :func:`finished`, and by the tasks). Any other
    exception keeps its line and its traceback. Under the ``ogp`` command
    (``OGP_QUIET_KNOWN_ERRORS=1``), Prefect's English notice that its events are still
    being sent at exit goes too; with ``--verbose`` (``OGP_QUIET_KNOWN_ERRORS=0``) Prefect's
    lines all stay, an expected error's without its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if os.environ.get("OGP_QUIET_KNOWN_ERRORS") == "1":
            if record.name == "EventsWorker" and record.levelno < logging.ERROR:
                return False  # "Still processing items" while a failed run's events drain at exit
        if os.environ.get("OGP_QUIET_KNOWN_ERRORS") == "0":
            # ``ogp run --verbose``: Prefect's own lines stay, an expected error's without
            # its traceback (the command prints the French message after them).
            if record.exc_info and isinstance(record.exc_info[1], PipelineError):
                record.exc_info = None
                record.exc_text = None
            return True
        if record.exc_info and isinstance(record.exc_info[1], PipelineError | FailedRun):
            return False
        return not record.getMessage().startswith("Finished in state ")


def install_log_filter() -> None:
    """Adds :class:`KnownErrorsFilter` to the handlers of the root and Prefect's loggers
    (the console and the API's, which ships a run's log to the server)."""
    known = KnownErrorsFilter()
    names = [n for n in logging.root.manager.loggerDict if n.startswith("prefect")]
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in names)]:
        for handler in logger.handlers:
            if not any(isinstance(f, KnownErrorsFilter) for f in handler.filters):
                handler.addFilter(known)
