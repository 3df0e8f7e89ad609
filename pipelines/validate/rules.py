"""Validate stage: business rules that span cells, rows or tables, run by great-expectations.

Frictionless checks each cell against the schema; these rules relate cells to each
other (a ``complet`` status and its percentage), to the plan (the body's own actions,
the plan's start), to the file's reception (a report cannot be dated after it) and to the
body's earlier reports (progress going backwards). Each rule is one expectation on a
pandas frame of the submission and the code it reports; great-expectations says which
rows break it. What the finding says, and its severity, is the code's registry entry
(``pipelines.core.codes``); a rule only supplies the fields its words need.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.core.codes import code_info
from pipelines.core.problems import Problem, problem

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
    # The day the file was received (Europe/Paris): no report is dated after it.
    received_on: dt.date | None = None
    # Each field as reports name it (« Avancement (%) [avancement_pct] »).
    labels: Mapping[str, str] = field(default_factory=dict)

    def has_column(self, name: str) -> bool:
        return self.present_columns is None or name in self.present_columns


Row = Any  # one row of the rules' frame (a pandas Series)


@dataclass(frozen=True)
class Rule:
    """One business rule: the code it reports on ``column`` (severity and words are the
    code's registry entry), the expectation that finds the rows breaking it, and the
    fields its words need beyond the column (``details``, read from the row's frame)."""

    code: str
    column: str
    expectation: Any = field(compare=False)
    variant: str | None = None
    details: Callable[[Row], Mapping[str, Any]] | None = field(default=None, compare=False)


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


def _date_rules(plan_start: dt.date, today: dt.date, received_on: dt.date | None) -> list[Rule]:
    """The report date within the plan, not in the future, and not after the day the file
    was received (where that day is known and before today), for any sheet of reports."""
    import pandas as pd  # imported by the runs that check submissions only

    _, gxe = _gx()
    rules = [
        Rule(
            "date-avant-plan",
            "date_rapport",
            gxe.ExpectColumnValuesToBeBetween(column="date_rapport", min_value=pd.Timestamp(plan_start)),
            details=lambda _: {"start": _fr(plan_start)},
        ),
        Rule(
            "date-future",
            "date_rapport",
            gxe.ExpectColumnValuesToBeBetween(column="date_rapport", max_value=pd.Timestamp(today)),
            details=lambda _: {"today": _fr(today)},
        ),
    ]
    if received_on is not None and received_on < today:
        # Only on dates not after today: a date in the future is one finding, date-future.
        rules.append(
            Rule(
                "date-rapport-apres-reception",
                "date_rapport",
                gxe.ExpectColumnValuesToBeBetween(
                    column="date_rapport",
                    max_value=pd.Timestamp(received_on),
                    row_condition=_column("date_rapport") <= today.isoformat(),
                ),
                details=lambda _: {"received": _fr(received_on)},
            )
        )
    return rules


def _fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def business_rules(context: RuleContext) -> list[Rule]:
    """The rules for one submission; the responsibility rule is an error only for a template."""
    _, gxe = _gx()
    complet = _column("statut") == "complet"
    not_started = _column("statut") == "non_commence"
    uncommented = _column("commentaire").is_null()
    rules = [
        Rule(
            "complet-sans-100",
            "avancement_pct",
            gxe.ExpectColumnValuesToBeBetween(
                column="avancement_pct", min_value=100, max_value=100, row_condition=complet
            ),
        ),
        Rule(
            "complet-sans-100",
            "avancement_pct",
            gxe.ExpectColumnValuesToNotBeNull(column="avancement_pct", row_condition=complet),
            variant="empty",
        ),
        Rule(
            "statut-sans-preuve",
            "preuve_url",
            gxe.ExpectColumnValuesToNotBeNull(column="preuve_url", row_condition=complet),
        ),
        Rule(
            "non-commence-avec-avancement",
            "avancement_pct",
            gxe.ExpectColumnValuesToBeBetween(
                column="avancement_pct", min_value=0, max_value=0, row_condition=not_started
            ),
        ),
        *_date_rules(context.plan_start, context.today, context.received_on),
        Rule(
            "recul-sans-commentaire",
            "avancement_pct",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="avancement_pct",
                column_B="avancement_precedent",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                row_condition=uncommented,
            ),
            details=lambda row: {"previous": _number(float(row["avancement_precedent"]))},
        ),
    ]
    if context.organisation is not None:
        # An error with or without the template: a row would otherwise replace the report of
        # the body that answers for the action (see the dataset's ``reporters`` to allow it).
        organisation, bodies = context.organisation, context.responsible_bodies
        rules.append(
            Rule(
                "action-hors-responsabilite",
                "id_action",
                gxe.ExpectColumnValuesToBeInSet(
                    column="id_action", value_set=sorted(context.responsible_actions)
                ),
                details=lambda row: {
                    "organisation": organisation,
                    "bodies": bodies(str(row["id_action"])) if bodies else [],
                },
            )
        )
    return rules


def _run_suite(
    name: str,
    rules: list[Rule],
    frame: pd.DataFrame,
    submission: NormalisedSubmission,
    *,
    labels: Mapping[str, str],
    has_column: Callable[[str], bool],
) -> list[Problem]:
    """A finding for each row great-expectations finds breaking a rule, on cells no earlier
    check reported, with the fields the rule's words need: its column as the template names
    it (``column``), whether the file lacks that column (``missing``), and its ``details``."""
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
    findings: list[Problem] = []
    for outcome in result.results:
        rule = rules[outcome.expectation_config.meta["regle"]]
        if outcome.exception_info.get("raised_exception"):
            raise RuntimeError(f"Règle {rule.code} : {outcome.exception_info.get('exception_message')}")
        declared = code_info(rule.code).fields
        standard = {"column": labels.get(rule.column, rule.column), "missing": not has_column(rule.column)}
        for unexpected in outcome.result.get("unexpected_index_list") or []:
            row = int(unexpected[LINE])
            if (row, rule.column) in submission.reported:
                continue
            index = index_of[row]
            cells = submission.rows[index]
            value = submission.as_written(row, rule.column, cells.get(rule.column, ""))
            fields = {k: v for k, v in standard.items() if k in declared}
            if rule.details is not None:
                fields.update(rule.details(frame.iloc[index]))
            findings.append(
                problem(
                    rule.code,
                    variant=rule.variant,
                    row=row,
                    field=rule.column,
                    value=value or None,
                    **fields,
                )
            )
    return findings


def check_business_rules(submission: NormalisedSubmission, context: RuleContext) -> list[Problem]:
    """Findings for every row that breaks a rule, on the rows frictionless could type."""
    if not submission.rows:
        return []
    return _run_suite(
        "regles-suivi",
        business_rules(context),
        _frame(submission, context),
        submission,
        labels=context.labels,
        has_column=context.has_column,
    )


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
    # The day the file was received (Europe/Paris): no value is dated after it.
    received_on: dt.date | None = None
    # Each field as reports name it (« Valeur atteinte [valeur_atteinte] »).
    labels: Mapping[str, str] = field(default_factory=dict)


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
    """The rules of a targets sheet: dates within the plan and the reception, a milestone is
    0 or 1, a value going down is explained, and a body reports on its own actions' targets only."""
    _, gxe = _gx()
    rules = [
        *_date_rules(context.plan_start, context.today, context.received_on),
        Rule(
            "jalon-ni-0-ni-1",
            "valeur_atteinte",
            gxe.ExpectColumnValuesToBeInSet(
                column="valeur_atteinte", value_set=[0, 1], row_condition=_column("nature") == "jalon"
            ),
        ),
        Rule(
            "baisse-sans-commentaire",
            "valeur_atteinte",
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="valeur_atteinte",
                column_B="valeur_precedente",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                row_condition=_column("commentaire").is_null(),
            ),
            details=lambda row: {"previous": _number(float(row["valeur_precedente"]))},
        ),
    ]
    if context.organisation is not None:
        organisation, bodies = context.organisation, context.responsible_bodies
        rules.append(
            Rule(
                "cible-hors-responsabilite",
                "id_cible",
                gxe.ExpectColumnValuesToBeInSet(
                    column="id_action",
                    value_set=sorted(context.responsible_actions),
                    row_condition=_column("id_action").is_not_null(),
                ),
                details=lambda row: {
                    "organisation": organisation,
                    "action": str(row["id_action"]),
                    "bodies": bodies(str(row["id_action"])) if bodies else [],
                },
            )
        )
    return rules


def check_target_rules(submission: NormalisedSubmission, context: TargetRuleContext) -> list[Problem]:
    """Findings for every row of a targets sheet that breaks a rule (``table``: the sheet's name is
    set by the caller)."""
    if not submission.rows:
        return []
    return _run_suite(
        "regles-cibles",
        target_rules(context),
        _target_frame(submission, context),
        submission,
        labels=context.labels,
        has_column=lambda _: True,
    )


def _number(value: float) -> str:
    """A number as a French reader writes it: no ``.0``, a decimal comma."""
    return str(int(value)) if value == int(value) else str(value).replace(".", ",")
