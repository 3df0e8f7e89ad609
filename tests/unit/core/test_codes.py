"""The code registry against the code, both ways, against frictionless's own codes, and every
template of it rendered with its declared fields."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from pathlib import Path

import frictionless.errors as fe
import jinja2
import jinja2.meta
import pytest

from pipelines.core.codes import (
    CODES,
    FRICTIONLESS,
    INSTRUCTION_FIELDS,
    OURS,
    PROGRESS,
    TARGETS,
    code_info,
    instructions_for,
    render,
)
from pipelines.core.problems import Problem, Severity, flatten, problem, problem_of
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import all_labels
from pipelines.validate.rules import RuleContext, TargetRuleContext, business_rules, target_rules
from tests.conftest import ROOT

CONSTRUCTORS = {"problem", "Problem", "Rule", "TableError"}
SOURCES = [*(ROOT / "pipelines").rglob("*.py"), *(ROOT / "publish").rglob("*.py")]
REGISTRY = ROOT / "pipelines" / "core" / "codes.py"


def codes_written() -> dict[str, set[str]]:
    """Every code the code writes: the first argument (or ``code=`` / ``type=``) of a
    problem's constructor."""
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in CONSTRUCTORS:
                continue
            values = [node.args[0]] if node.args else []
            values += [k.value for k in node.keywords if k.arg in ("code", "type")]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, set()).add(path.name)
    return found


def strings_outside_the_registry() -> set[str]:
    """Every string constant of the code but the registry's own (a correction's code is
    returned by a helper before it reaches ``problem``)."""
    return {
        node.value
        for path in SOURCES
        if path != REGISTRY
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def frictionless_codes() -> set[str]:
    return {
        c.type
        for _, c in inspect.getmembers(fe, inspect.isclass)
        if issubclass(c, fe.Error) and getattr(c, "type", "")
    }


def test_every_code_written_is_in_the_registry() -> None:
    written = codes_written()
    assert len(written) > 40
    assert {c: sorted(w) for c, w in written.items() if c not in CODES} == {}


def test_every_own_code_of_the_registry_is_written_somewhere() -> None:
    assert sorted(set(OURS) - strings_outside_the_registry()) == []


def test_frictionless_codes_are_frictionless_own_and_ours_never_copy_one() -> None:
    real = frictionless_codes()
    assert sorted(set(FRICTIONLESS) - real) == []
    assert sorted(set(OURS) & real) == []
    assert all(info.frictionless for info in FRICTIONLESS.values())
    assert not any(info.frictionless for info in OURS.values())
    assert all(info.severity == Severity.ERROR for info in FRICTIONLESS.values())


def test_every_entry_has_a_french_title_and_its_severity() -> None:
    assert all(info.title and info.title != code for code, info in CODES.items())
    assert code_info("recul-sans-commentaire").severity == Severity.WARNING
    assert code_info("date-francaise").severity == Severity.CORRECTION
    assert code_info("date-rapport-apres-reception").severity == Severity.ERROR
    assert code_info("nouveau-code-de-frictionless").frictionless  # never a failure in a report


def _placeholders(source: str) -> set[str]:
    return set(jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(source)))


def _falsy(example: object) -> object:
    """An example's empty counterpart: the other branch of an optional sentence."""
    return type(example)() if isinstance(example, str | list | bool | int) else None


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_template_renders_with_its_declared_fields(code: str) -> None:
    info = CODES[code]
    used: set[str] = set()
    for variant, wording in info.wordings().items():
        for source in (wording.message, wording.fix):
            names = _placeholders(source)
            assert names <= set(info.fields), (code, variant, sorted(names - set(info.fields)))
            used |= names
        for fields in (dict(info.fields), {k: _falsy(v) for k, v in info.fields.items()}):
            message, fix = render(wording.message, fields), render(wording.fix, fields)
            assert message.strip() and "{" not in message and "}" not in message, (code, variant)
            assert "{" not in fix and "}" not in fix, (code, variant)
            if info.severity != Severity.CORRECTION:
                assert fix.strip(), (code, variant)  # an error or a warning says what to do
    assert set(info.fields) <= used, (code, sorted(set(info.fields) - used))  # no field declared for nothing


def test_the_instructions_of_the_rules_render_for_each_format_they_check(
    submission_schema: TableSchema, targets_submission_schema: TableSchema
) -> None:
    schemas = {PROGRESS: submission_schema, TARGETS: targets_submission_schema}
    for code, info in CODES.items():
        assert set(info.rule_of) <= set(schemas), code
        assert _placeholders(info.instruction) <= set(INSTRUCTION_FIELDS), code
        for name in info.rule_of:
            context = {"labels": all_labels(schemas[name]), "plan_start": "01/01/2021"}
            if info.instruction:
                assert render(info.instruction, context).strip(), code
    progress = instructions_for(
        PROGRESS, {"labels": all_labels(submission_schema), "plan_start": "01/01/2021"}
    )
    assert any("Achevée" in sentence for sentence in progress)  # the label the template's list shows


def test_the_rules_of_each_format_are_the_registry_entries_that_say_so() -> None:
    """A rule is one registry entry (its ``rule_of``) and one rule function: they agree."""
    day = dt.date(2023, 6, 1)
    progress = RuleContext(day, day, "ditp", True, frozenset(), received_on=dt.date(2023, 5, 1))
    targets = TargetRuleContext(day, day, "meae", frozenset(), {}, received_on=dt.date(2023, 5, 1))
    assert {r.code for r in business_rules(progress)} == {
        c for c, i in CODES.items() if PROGRESS in i.rule_of
    }
    assert {r.code for r in target_rules(targets)} == {c for c, i in CODES.items() if TARGETS in i.rule_of}
    for rule in [*business_rules(progress), *target_rules(targets)]:
        assert rule.variant is None or rule.variant in CODES[rule.code].variants


def test_a_finding_takes_its_severity_and_words_from_the_registry() -> None:
    found = problem("recul-sans-commentaire", row=3, field="avancement_pct", value="40", previous="60")
    assert (found.severity, found.row, found.field, found.value) == (
        Severity.WARNING,
        3,
        "avancement_pct",
        "40",
    )
    assert "60" in found.message and found.fix
    with pytest.raises(TypeError):
        problem("recul-sans-commentaire", ancien="60")  # a field the entry does not declare
    with pytest.raises(jinja2.UndefinedError):
        problem("fichier-trop-volumineux", size="12 Mo")  # a field its template uses, not given
    with pytest.raises(KeyError):
        problem("code-inconnu")
    with pytest.raises(KeyError):
        problem("type-error", variant="inconnue")


def test_a_frictionless_error_becomes_a_problem_with_its_constraint() -> None:
    error = fe.ConstraintError(
        note='constraint "maximum" is "100"',
        cells=["200"],
        row_number=3,
        cell="200",
        field_name="avancement_pct",
        field_number=4,
    )
    problem = problem_of(error, "suivi")
    assert flatten([problem], ("table", "row", "field", "code", "constraint", "value")) == [
        ("suivi", 3, "avancement_pct", "constraint-error", "maximum", "200")
    ]
    assert "maximum" in problem.message and "constraint" not in problem.message  # our words
    assert Problem.from_dict(problem.to_dict()) == problem


def test_no_other_record_of_a_data_problem_is_defined() -> None:
    classes = {
        node.name
        for path in SOURCES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    }
    assert {"Issue", "Finding"} & classes == set()
    # The columnar check's record of a frictionless error is frictionless's shape, turned
    # into a Problem by problem_of like frictionless's own errors.
    assert Path(inspect.getsourcefile(problem_of) or "").name == "problems.py"
