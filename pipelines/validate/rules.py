"""Validate stage: business rules that span cells, rows or tables, run by great-expectations.

Frictionless checks each cell against the schema; these rules relate cells to each
other (a ``complet`` status and its percentage), to the plan (the body's own actions,
the plan's start) and to the body's earlier reports (progress going backwards). Each rule
is one expectation on a pandas frame of the submission, with a stable code, a severity
and a French rule and fix; great-expectations says which rows break it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.core.problems import Problem, Severity, shown

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.gather.submissions.plan_facts import TargetFact
from pipelines.validate.normalise import NormalisedSubmission

LINE = "ligne"


@dataclass(frozen=True)
class RuleContext:
    """What the rules compare a submission with."""

    plan_start: dt.date
    today: dt.date
    organisation: str | None
    template_used: bool
    responsible_actions: frozenset[str]
    # Earlier accepted reports: (id_action, date_rapport ISO, avancement_pct or None).
    history: Sequence[tuple[str, str, int | None]] = ()
    # The bodies responsible for an action, named when a body reports on another's action.
    responsible_bodies: Callable[[str], list[str]] | None = None
    # The schema fields the file's header has (None: all of them).
    present_columns: frozenset[str] | None = None

    def has_column(self, name: str) -> bool:
        return self.present_columns is None or name in self.present_columns


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    column: str
    rule: str
    fix: str
    expectation: Any = field(compare=False)


@cache
def _gx() -> tuple[Any, Any]:
    """great-expectations and its expectations module, imported once (3-5 s)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import logging

    import great_expectations as gx
    import great_expectations.expectations as gxe

    # This module sets its own logger to INFO at import and announces the temporary folder of
    # every ephemeral context: nothing a steward can act on, printed in the middle of a run.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx, gxe


def _column(name: str) -> Any:
    from great_expectations.expectations.row_conditions import Column

    return Column(name)


@cache
def _batch_definition() -> Any:
    gx, _ = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("soumissions").add_dataframe_asset("soumission")
    return asset.add_batch_definition_whole_dataframe("soumission-entiere")


def _frame(submission: NormalisedSubmission, context: RuleContext) -> pd.DataFrame:
    """Typed columns (cells that failed their type are NA: frictionless reported them)."""
    import pandas as pd  # imported by the runs that check submissions only

    rows = submission.rows
    frame = pd.DataFrame(
        {
            LINE: submission.sheet_rows,
            "id_action": [r["id_action"] or None for r in rows],
            "date_rapport": pd.to_datetime(
                [r["date_rapport"] for r in rows], format="%Y-%m-%d", errors="coerce"
            ),
            "statut": [r["statut"] or None for r in rows],
            "avancement_pct": pd.to_numeric(
                pd.Series([r["avancement_pct"] for r in rows], dtype="string"), errors="coerce"
            ).astype("Float64"),
            "commentaire": [r["commentaire"] or None for r in rows],
            "preuve_url": [r["preuve_url"] or None for r in rows],
        }
    )
    frame["avancement_precedent"] = _previous(frame, context.history, "id_action", "avancement_pct")
    return frame


def _previous(
    frame: pd.DataFrame, history: Iterable[tuple[str, str, float | None]], key: str, value: str
) -> pd.Series:
    """For each row, the latest earlier ``value`` reported for the same ``key`` (an action's
    percentage, a target's value), if any: the history's and the file's own earlier dates.

    Earlier reports of the same key and date are being replaced, so they do not count.
    """
    import pandas as pd  # imported by the runs that check submissions only

    current = frame[[key, "date_rapport", value]].assign(courant=True, position=range(len(frame)))
    past = pd.DataFrame(list(history), columns=[key, "date_rapport", value])
    past = past.assign(
        **{
            "date_rapport": pd.to_datetime(past["date_rapport"], format="%Y-%m-%d", errors="coerce"),
            value: pd.to_numeric(past[value], errors="coerce").astype("Float64"),
            "courant": False,
            "position": -1,
        }
    )
    replaced = past.set_index([key, "date_rapport"]).index.isin(
        current.set_index([key, "date_rapport"]).index
    )
    combined = pd.concat([past[~replaced], current], ignore_index=True)
    combined = combined.sort_values([key, "date_rapport", "courant"], kind="stable")
    combined["precedent"] = combined.groupby(key, dropna=False)[value].transform(lambda s: s.shift().ffill())
    mine = combined[combined["courant"]].sort_values("position")
    return pd.Series(mine["precedent"].to_numpy(), index=frame.index, dtype="Float64")


def _date_rules(plan_start: dt.date, today: dt.date, observed: str) -> list[Rule]:
    """The report date within the plan and not in the future, for any sheet of reports;
    ``observed`` says what the date is the date of (« l'avancement a été constaté »)."""
    import pandas as pd  # imported by the runs that check submissions only

    _, gxe = _gx()
    return [
        Rule(
            "date-avant-plan",
            Severity.ERROR,
            "date_rapport",
            f"La date du rapport ne peut pas précéder le début du plan ({plan_start.strftime('%d/%m/%Y')}).",
            "Vérifiez l'année de la date (format JJ/MM/AAAA ou AAAA-MM-JJ).",
            gxe.ExpectColumnValuesToBeBetween(column="date_rapport", min_value=pd.Timestamp(plan_start)),
        ),
        Rule(
            "date-future",
            Severity.ERROR,
            "date_rapport",
            f"La date du rapport ne peut pas être dans le futur (après le {today.strftime('%d/%m/%Y')}).",
            f"Indiquez la date à laquelle {observed}, au plus tard aujourd'hui.",
            gxe.ExpectColumnValuesToBeBetween(column="date_rapport", max_value=pd.Timestamp(today)),
        ),
    ]


def business_rules(context: RuleContext) -> list[Rule]:
    """The rules for one submission; the responsibility rule is an error only for a template."""
    _, gxe = _gx()
    complet = _column("statut") == "complet"
    not_started = _column("statut") == "non_commence"
    uncommented = _column("commentaire").is_null()

    # A rule about a column the file does not have says so, instead of asking to fill it.
    def absent(column: str, title: str) -> tuple[str, str]:
        """(what to add to the rule's text, what to put before its fix)."""
        if context.has_column(column):
            return "", ""
        return (
            f" La colonne {column} ({title}) manque au fichier.",
            f"Ajoutez la colonne {column} à l'en-tête, puis ",
        )

    pct_said, pct_first = absent("avancement_pct", "Avancement (%)")
    proof_said, proof_first = absent("preuve_url", "Lien vers une preuve")
    rules = [
        Rule(
            "complet-sans-100",
            Severity.ERROR,
            "avancement_pct",
            "Une action au statut complet est avancée à 100 %.",
            "Indiquez 100 dans avancement_pct, ou choisissez le statut substantiel ou limite.",
            gxe.ExpectColumnValuesToBeBetween(
                column="avancement_pct", min_value=100, max_value=100, row_condition=complet
            ),
        ),
        Rule(
            "complet-sans-100",
            Severity.ERROR,
            "avancement_pct",
            "Une action au statut complet est avancée à 100 % : l'avancement ne peut pas être vide."
            + pct_said,
            (pct_first + "i" if pct_first else "I") + "ndiquez 100 dans avancement_pct.",
            gxe.ExpectColumnValuesToNotBeNull(column="avancement_pct", row_condition=complet),
        ),
        Rule(
            "statut-sans-preuve",
            Severity.ERROR,
            "preuve_url",
            "Une action au statut complet est attestée par un lien vers une preuve publique." + proof_said,
            (proof_first + "i" if proof_first else "I") + "ndiquez dans preuve_url l'adresse "
            "d'un document public qui atteste l'achèvement.",
            gxe.ExpectColumnValuesToNotBeNull(column="preuve_url", row_condition=complet),
        ),
        Rule(
            "non-commence-avec-avancement",
            Severity.ERROR,
            "avancement_pct",
            "Une action non commencée a un avancement de 0 % ou vide.",
            "Mettez 0 ou videz avancement_pct, ou choisissez le statut limite.",
            gxe.ExpectColumnValuesToBeBetween(
                column="avancement_pct", min_value=0, max_value=0, row_condition=not_started
            ),
        ),
        *_date_rules(context.plan_start, context.today, "l'avancement a été constaté"),
        Rule(
            "recul-sans-commentaire",
            Severity.WARNING,
            "avancement_pct",
            "L'avancement d'une action recule par rapport à son rapport précédent sans "
            "commentaire qui l'explique.",
            "Expliquez le recul dans la colonne commentaire, ou corrigez le pourcentage.",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="avancement_pct",
                column_B="avancement_precedent",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                row_condition=uncommented,
            ),
        ),
    ]
    if context.organisation is not None:
        # An error with or without the template: a row would otherwise replace the report of
        # the body that answers for the action (see the dataset's ``reporters`` to allow it).
        rules.append(
            Rule(
                "action-hors-responsabilite",
                Severity.ERROR,
                "id_action",
                f"L'organisme {context.organisation} ne figure pas parmi les responsables de cette action.",
                "Retirez la ligne (l'organisme responsable en rendra compte) ou vérifiez "
                "l'identifiant de l'action.",
                gxe.ExpectColumnValuesToBeInSet(
                    column="id_action", value_set=sorted(context.responsible_actions)
                ),
            )
        )
    return rules


def _run_suite(
    name: str, rules: list[Rule], frame: pd.DataFrame, submission: NormalisedSubmission
) -> Iterator[tuple[Rule, int, dict[str, str], str]]:
    """Each (rule, spreadsheet row, cells, value as written) great-expectations finds
    unexpected, for cells no earlier check reported."""
    gx, _ = _gx()
    batch_definition = _batch_definition()  # the context a suite needs exists from here
    suite = gx.ExpectationSuite(name=name)
    for position, rule in enumerate(rules):
        rule.expectation.meta = {"regle": position}
        suite.add_expectation(rule.expectation)
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]}
    )
    # Position of each spreadsheet row: a lookup per unexpected cell, not a scan.
    index_of = {row: i for i, row in enumerate(submission.sheet_rows)}
    for outcome in result.results:
        rule = rules[outcome.expectation_config.meta["regle"]]
        if outcome.exception_info.get("raised_exception"):
            raise RuntimeError(f"Règle {rule.code} : {outcome.exception_info.get('exception_message')}")
        for unexpected in outcome.result.get("unexpected_index_list") or []:
            row = int(unexpected[LINE])
            if (row, rule.column) in submission.reported:
                continue
            cells = submission.rows[index_of[row]]
            yield (
                rule,
                index_of[row],
                cells,
                submission.as_written(row, rule.column, cells.get(rule.column, "")),
            )


def check_business_rules(submission: NormalisedSubmission, context: RuleContext) -> list[Problem]:
    """Findings for every row that breaks a rule, on the rows frictionless could type."""
    if not submission.rows:
        return []
    frame = _frame(submission, context)
    findings: list[Problem] = []
    for rule, index, cells, value in _run_suite("regles-suivi", business_rules(context), frame, submission):
        text = rule.rule
        if rule.code == "recul-sans-commentaire":
            previous = frame["avancement_precedent"].iloc[index]
            value = f"{value} (précédent : {int(previous)})"
        if rule.code == "action-hors-responsabilite" and context.responsible_bodies:
            bodies = context.responsible_bodies(str(cells.get("id_action", "")))
            if bodies:
                text += f" Responsable(s) : {', '.join(bodies)}."
        findings.append(
            Problem(
                rule.code,
                text,
                rule.fix,
                rule.severity,
                row=submission.sheet_rows[index],
                field=rule.column,
                value=shown(value) if value else None,
            )
        )
    return findings


# --- the values reached of the plan's targets ------------------------------------------


@dataclass(frozen=True)
class TargetRuleContext:
    """What a targets sheet is compared with: the plan's targets and the body's earlier reports."""

    plan_start: dt.date
    today: dt.date
    organisation: str | None
    responsible_actions: frozenset[str]
    # Every target of the plan, by id_cible (its action and nature decide two rules).
    targets: Mapping[str, TargetFact]
    # Earlier accepted reports: (id_cible, date_rapport ISO, valeur_atteinte).
    history: Sequence[tuple[str, str, float | None]] = ()
    responsible_bodies: Callable[[str], list[str]] | None = None


def _target_frame(submission: NormalisedSubmission, context: TargetRuleContext) -> pd.DataFrame:
    """Typed columns, each row with its target's action and nature and the previous value."""
    import pandas as pd  # imported by the runs that check submissions only

    rows = submission.rows
    targets = [context.targets.get(r["id_cible"]) for r in rows]  # None: not a target of the plan
    frame = pd.DataFrame(
        {
            LINE: submission.sheet_rows,
            "id_cible": [r["id_cible"] or None for r in rows],
            "id_action": [t.id_action if t else None for t in targets],
            "nature": [t.nature if t else None for t in targets],
            "date_rapport": pd.to_datetime(
                [r["date_rapport"] for r in rows], format="%Y-%m-%d", errors="coerce"
            ),
            "valeur_atteinte": pd.to_numeric(
                pd.Series([r["valeur_atteinte"] for r in rows], dtype="string"), errors="coerce"
            ).astype("Float64"),
            "commentaire": [r.get("commentaire") or None for r in rows],
        }
    )
    frame["valeur_precedente"] = _previous(frame, context.history, "id_cible", "valeur_atteinte")
    return frame


def target_rules(context: TargetRuleContext) -> list[Rule]:
    """The rules of a targets sheet: dates within the plan, a milestone is 0 or 1, a value
    going down is explained, and a body reports on its own actions' targets only."""
    _, gxe = _gx()
    rules = [
        *_date_rules(context.plan_start, context.today, "la valeur a été constatée"),
        Rule(
            "jalon-ni-0-ni-1",
            Severity.ERROR,
            "valeur_atteinte",
            "Cette cible est un jalon (une livraison à une date, sans chiffre) : sa valeur atteinte est 1 "
            "quand il est franchi, 0 sinon.",
            "Indiquez 1 si le jalon est franchi à la date du rapport, 0 sinon ; précisez dans le "
            "commentaire ce qui reste à faire.",
            gxe.ExpectColumnValuesToBeInSet(
                column="valeur_atteinte", value_set=[0, 1], row_condition=_column("nature") == "jalon"
            ),
        ),
        Rule(
            "baisse-sans-commentaire",
            Severity.WARNING,
            "valeur_atteinte",
            "La valeur atteinte par la cible baisse par rapport à son rapport précédent sans "
            "commentaire qui l'explique.",
            "Expliquez la baisse dans la colonne commentaire (changement de mesure, correction), "
            "ou corrigez la valeur.",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="valeur_atteinte",
                column_B="valeur_precedente",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                row_condition=_column("commentaire").is_null(),
            ),
        ),
    ]
    if context.organisation is not None:
        rules.append(
            Rule(
                "cible-hors-responsabilite",
                Severity.ERROR,
                "id_cible",
                f"La cible appartient à une action dont l'organisme {context.organisation} n'est pas responsable.",
                "Retirez la ligne (l'organisme responsable de l'action en rendra compte) ou vérifiez "
                "l'identifiant de la cible.",
                gxe.ExpectColumnValuesToBeInSet(
                    column="id_action",
                    value_set=sorted(context.responsible_actions),
                    row_condition=_column("id_action").is_not_null(),
                ),
            )
        )
    return rules


def check_target_rules(submission: NormalisedSubmission, context: TargetRuleContext) -> list[Problem]:
    """Findings for every row of a targets sheet that breaks a rule (``table``: the sheet's name is
    set by the caller)."""
    if not submission.rows:
        return []
    frame = _target_frame(submission, context)
    findings: list[Problem] = []
    for rule, index, _cells, value in _run_suite("regles-cibles", target_rules(context), frame, submission):
        text = rule.rule
        if rule.code == "baisse-sans-commentaire":
            previous = float(frame["valeur_precedente"].iloc[index])
            value = f"{value} (précédent : {_number(previous)})"
        if rule.code == "cible-hors-responsabilite":
            action = str(frame["id_action"].iloc[index])
            bodies = context.responsible_bodies(action) if context.responsible_bodies else []
            text += f" Action {action}" + (f", responsable(s) : {', '.join(bodies)}." if bodies else ".")
        findings.append(
            Problem(
                rule.code,
                text,
                rule.fix,
                rule.severity,
                row=submission.sheet_rows[index],
                field=rule.column,
                value=shown(value) if value else None,
            )
        )
    return findings


def _number(value: float) -> str:
    """A number as a French reader writes it: no ``.0``, a decimal comma."""
    return str(int(value)) if value == int(value) else str(value).replace(".", ",")
