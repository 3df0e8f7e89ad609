"""Intake: what a collection did, told in French lines, for the log of a scheduled run.

A steward who opens a run in Prefect's UI reads there what ``ogp run`` prints: how many
files were received, accepted and rejected; each rejected file with where it is, its
verdict, its first errors and the path of its report; the warnings of the accepted files
(the first ones: the file's encoding when it is not UTF-8, a progress going down...); the
files received but without effect; the sources that could not be read. One function, so
that every adapter says the same.
"""

from __future__ import annotations

from pipelines.core.problems import Severity
from pipelines.intake.submissions import CollectionSummary
from pipelines.validate.report import SubmissionReport, where_of

ERRORS_PER_FILE = 3
WARNINGS_SHOWN = 10


def _counts(summary: CollectionSummary) -> str:
    accepted, rejected = len(summary.accepted), len(summary.rejected) + len(summary.refused)
    received = accepted + rejected
    text = f"{received} fichier(s) reçu(s) : {accepted} accepté(s), {rejected} rejeté(s)"
    if summary.unchanged:
        text += f" ; {summary.unchanged} déjà reçu(s) auparavant, non revalidé(s)"
    return text + "."


def _rejected(summary: CollectionSummary, report: SubmissionReport) -> str:
    lines = [f"Rejeté : {summary.where(report)} : {report.verdict}"]
    found = report.of(Severity.ERROR)
    lines += [f"  {where_of(p)} : {p.message}" for p in found[:ERRORS_PER_FILE]]
    if len(found) > ERRORS_PER_FILE:
        lines.append(f"  … et {len(found) - ERRORS_PER_FILE} autre(s) erreur(s).")
    path = summary.report_path(report)
    if path is not None:
        lines.append(f"  rapport : {path}")
    return "\n".join(lines)


def collection_lines(slug: str, summary: CollectionSummary) -> list[str]:
    """The log of one dataset's collection, one entry per thing a steward acts on."""
    lines = [f"{slug} : {_counts(summary)}"]
    lines += [_rejected(summary, r) for r in summary.rejected]
    lines += [f"Refusé : {line}" for line in summary.refused]
    lines += [f"Accepté sans effet complet : {line}" for line in summary.without_effect]
    warned = [(r, w) for r in summary.accepted for w in r.of(Severity.WARNING)]
    if warned:
        shown = [f"  {summary.where(r)}, {where_of(w)} : {w.message}" for r, w in warned[:WARNINGS_SHOWN]]
        more = [f"  … et {len(warned) - WARNINGS_SHOWN} autre(s) ; voir ogp status."] * (
            len(warned) > WARNINGS_SHOWN
        )
        lines.append(
            "\n".join(
                [f"Avertissements ({len(warned)}, dans des fichiers acceptés : à vérifier) :", *shown, *more]
            )
        )
    lines += [f"Source illisible : {line}" for line in summary.failures]
    return lines


def report_lines(report: SubmissionReport) -> list[str]:
    """The log of one file validated on demand: its verdict, then its errors and warnings."""
    lines = [f"{report.file_name} : {report.verdict}"]
    for severity, label in ((Severity.ERROR, "Erreur"), (Severity.WARNING, "Avertissement")):
        lines += [f"{label} : {where_of(p)} : {p.message}" for p in report.of(severity)[:WARNINGS_SHOWN]]
    return lines
