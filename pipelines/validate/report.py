"""Validate stage: the report of one submission, rendered for machines (JSON) and people
(Markdown, HTML, terminal text), in French.

A report says, for one received file: where it came from, its verdict in one line, then
its errors, its warnings and the corrections the pipeline made, each with the row as the
person sees it in their spreadsheet, the column, the value found, the rule and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2

from pipelines.core.codes import code_info
from pipelines.core.problems import Problem, Severity
from pipelines.core.times import moment_fr

REPORT_FORMAT_VERSION = 1


@dataclass
class SubmissionReport:
    file_name: str
    sha256: str
    size: int
    origin: str
    received_at: str
    organisation: str | None
    template_used: bool
    rows: int
    findings: list[Problem] = field(default_factory=list)
    target_rows: int = 0  # rows of values reached of targets (the « Cibles » sheet)
    # What the reception changes, when it is not every accepted row (a file whose rows
    # were all received before): French sentences shown under the verdict.
    notes: list[str] = field(default_factory=list)

    def of(self, severity: Severity) -> list[Problem]:
        return sorted((f for f in self.findings if f.severity == severity), key=lambda f: f.position)

    @property
    def accepted(self) -> bool:
        return not self.of(Severity.ERROR)

    @property
    def verdict(self) -> str:
        """The one-line verdict a steward reads first."""
        errors, warnings = len(self.of(Severity.ERROR)), len(self.of(Severity.WARNING))
        corrections = len(self.of(Severity.CORRECTION))
        if not self.accepted:
            return (
                f"REJETÉ : {_count(errors, 'erreur')} à corriger"
                f"{', ' + _count(warnings, 'avertissement') if warnings else ''} ; "
                "rien n'est publié depuis ce fichier, renvoyez-le une fois corrigé."
            )
        extras = [
            _count(n, label)
            for n, label in ((warnings, "avertissement"), (corrections, "correction automatique"))
            if n
        ]
        parts = [f"{_count(self.rows, 'ligne')} de suivi"] if self.rows or not self.target_rows else []
        if self.target_rows:
            parts.append(f"{_count(self.target_rows, 'valeur')} de cible")
        read = " et ".join(parts)
        return f"ACCEPTÉ : {read}{' avec ' + ' et '.join(extras) if extras else ''}."


def _count(n: int, noun: str) -> str:
    if n <= 1:
        return f"{n} {noun}"
    words = noun.split(" ")
    return f"{n} " + " ".join(w + "s" for w in words)


def report_dict(report: SubmissionReport) -> dict[str, Any]:
    return {
        "format": REPORT_FORMAT_VERSION,
        "fichier": report.file_name,
        "sha256": report.sha256,
        "octets": report.size,
        "origine": report.origin,
        "recu_le": report.received_at,
        "organisme": report.organisation,
        "modele_utilise": report.template_used,
        "verdict": "accepte" if report.accepted else "rejete",
        "resume": report.verdict,
        "lignes_acceptees": report.rows if report.accepted else 0,
        "valeurs_de_cibles_acceptees": report.target_rows if report.accepted else 0,
        "erreurs": [f.to_dict() for f in report.of(Severity.ERROR)],
        "avertissements": [f.to_dict() for f in report.of(Severity.WARNING)],
        "corrections": [f.to_dict() for f in report.of(Severity.CORRECTION)],
        "effet": report.notes,
    }


def render_json(report: SubmissionReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def column_of(finding: Problem) -> str:
    """A finding's column as the person's template names it, with the format's name in
    brackets (« Avancement (%) [avancement_pct] »), or as the file names it."""
    return finding.label or finding.field or ""


def where_of(finding: Problem) -> str:
    """Where a finding is, in words: « feuille Cibles, ligne 4, colonne Valeur atteinte
    [valeur_atteinte] », or « fichier » for the whole file."""
    return (
        ", ".join(
            p
            for p in (
                f"feuille {finding.table}" if finding.table else "",
                f"ligne {finding.row}" if finding.row else "",
                f"colonne {column_of(finding)}" if finding.field else "",
            )
            if p
        )
        or "fichier"
    )


def line_of(finding: Problem) -> str:
    """Where a finding is, as the person finds it: the row, and the sheet when it is not the
    progress sheet (« Cibles, ligne 4 »)."""
    if finding.table:
        return f"{finding.table}, ligne {finding.row}" if finding.row else finding.table
    return str(finding.row) if finding.row else ""


def _md_cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


_NONE = {
    Severity.ERROR: "Aucune erreur",
    Severity.WARNING: "Aucun avertissement",
    Severity.CORRECTION: "Aucune correction",
}


def received_fr(moment: str) -> str:
    """``2026-12-01T07:23:53.348919Z`` as a person reads it: « 1er décembre 2026 à 08:23
    (heure de Paris, UTC+1) » (the journal keeps UTC)."""
    return moment_fr(moment)


_SECTIONS = (
    (Severity.ERROR, "Erreurs (le fichier est rejeté tant qu'elles restent)"),
    (Severity.WARNING, "Avertissements (publié, mais à vérifier)"),
    (Severity.CORRECTION, "Corrections automatiques (sans ambiguïté)"),
)
# A rejected file publishes nothing: its warnings are to look at before sending it again.
_REJECTED_SECTIONS = (
    _SECTIONS[0],
    (Severity.WARNING, "Avertissements (à vérifier aussi avant de renvoyer le fichier)"),
    _SECTIONS[2],
)


def sections_of(report: SubmissionReport) -> tuple[tuple[Severity, str], ...]:
    """The report's sections, titled for an accepted or a rejected file."""
    return _SECTIONS if report.accepted else _REJECTED_SECTIONS


def render_markdown(report: SubmissionReport) -> str:
    lines = [
        f"# Rapport de validation : {_md_cell(report.file_name)}",
        "",
        f"**{report.verdict}**",
        "",
        *[f"> {_md_cell(note)}" for note in report.notes],
        *([""] if report.notes else []),
        f"- Fichier : `{report.file_name}` ({report.size} octets, SHA-256 `{report.sha256}`)",
        f"- Origine : {_md_cell(report.origin)}",
        f"- Reçu le : {received_fr(report.received_at)}",
        f"- Organisme : {report.organisation or 'non identifié'}"
        f"{' (modèle officiel)' if report.template_used else ''}",
        "",
    ]
    for severity, title in sections_of(report):
        found = report.of(severity)
        lines += [f"## {title} : {len(found)}", ""]
        if not found:
            lines += [f"{_NONE[severity]}.", ""]
            continue
        lines += [
            "| Ligne | Colonne | Valeur trouvée | Règle | Comment corriger | Problème |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_md_cell(line_of(f))} | {_md_cell(column_of(f))} | {_md_cell(f.value)} | {_md_cell(f.message)} "
            f"| {_md_cell(f.fix)} | {_md_cell(code_info(f.code).title)} |"
            for f in found
        ]
        lines.append("")
    return "\n".join(lines)


_HTML = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport de validation : {{ r.file_name }}</title>
<style>
body { font-family: Marianne, Arial, sans-serif; margin: 2rem; color: #161616; }
.verdict { padding: .75rem 1rem; font-weight: bold; border-left: .4rem solid; }
.accepte { background: #b8fec9; border-color: #18753c; }
.rejete { background: #ffe9e9; border-color: #ce0500; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border: 1px solid #929292; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eeeeee; }
code { word-break: break-all; }
</style>
</head>
<body>
<h1>Rapport de validation : {{ r.file_name }}</h1>
<p class="verdict {{ 'accepte' if r.accepted else 'rejete' }}">{{ r.verdict }}</p>
{% for note in r.notes %}<p class="effet">{{ note }}</p>
{% endfor %}<ul>
<li>Fichier : <code>{{ r.file_name }}</code> ({{ r.size }} octets, SHA-256 <code>{{ r.sha256 }}</code>)</li>
<li>Origine : {{ r.origin }}</li>
<li>Reçu le : {{ received_fr(r.received_at) }}</li>
<li>Organisme : {{ r.organisation or "non identifié" }}{% if r.template_used %} (modèle officiel){% endif %}</li>
</ul>
{% for severity, title in sections %}{% set found = r.of(severity) %}
<h2>{{ title }} : {{ found | length }}</h2>
{% if found %}<table>
<thead><tr><th scope="col">Ligne</th><th scope="col">Colonne</th><th scope="col">Valeur trouvée</th>
<th scope="col">Règle</th><th scope="col">Comment corriger</th><th scope="col">Problème</th></tr></thead>
<tbody>
{% for f in found %}<tr><td>{{ line_of(f) or "—" }}</td><td>{{ column_of(f) or "—" }}</td><td>{{ f.value if f.value is not none else "—" }}</td><td>{{ f.message }}</td><td>{{ f.fix }}</td><td>{{ title_of(f.code) }}</td></tr>
{% endfor %}</tbody>
</table>{% else %}<p>{{ nothing[severity] }}.</p>{% endif %}
{% endfor %}
</body>
</html>
"""


@cache
def _html_template() -> jinja2.Template:
    # Autoescape: cell values come from untrusted files (a "<script>" comment stays text).
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(_HTML)


def render_html(report: SubmissionReport) -> str:
    return _html_template().render(
        r=report,
        sections=sections_of(report),
        nothing=_NONE,
        received_fr=received_fr,
        line_of=line_of,
        column_of=column_of,
        title_of=lambda code: code_info(code).title,
    )


def render_text(report: SubmissionReport) -> str:
    """What ``ogp validate`` prints: the verdict, then one block per finding."""
    lines = [f"{report.file_name} : {report.verdict}", *(f"  {note}" for note in report.notes)]
    labels = {Severity.ERROR: "ERREUR", Severity.WARNING: "AVERTISSEMENT", Severity.CORRECTION: "CORRECTION"}
    for severity in labels:
        for f in report.of(severity):
            value = f" ; valeur « {f.value} »" if f.value is not None else ""
            lines.append(f"  {labels[severity]} ({code_info(f.code).title}) {where_of(f)}{value}")
            lines.append(f"    Règle : {f.message}")
            if f.fix:
                lines.append(f"    Que faire : {f.fix}")
    return "\n".join(lines) + "\n"
