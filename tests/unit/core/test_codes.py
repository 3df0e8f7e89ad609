"""The code registry against the code, both ways, and against frictionless's own codes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import frictionless.errors as fe

from pipelines.core.codes import CODES, FRICTIONLESS, OURS, code_info
from pipelines.core.problems import Problem, Severity, flatten, problem_of
from tests.conftest import ROOT

CONSTRUCTORS = {"error", "warning", "correction", "Problem", "Rule", "TableError"}


def codes_written() -> dict[str, set[str]]:
    """Every code the code writes: the first argument (or ``code=`` / ``type=``) of a
    problem's constructor, and the keys of tables of codes (``_CORRECTIONS``)."""
    found: dict[str, set[str]] = {}
    for path in [*(ROOT / "pipelines").rglob("*.py"), *(ROOT / "publish").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name not in CONSTRUCTORS:
                    continue
                values = [node.args[0]] if node.args else []
                values += [k.value for k in node.keywords if k.arg in ("code", "type")]
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.setdefault(value.value, set()).add(path.name)
            elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "_CORRECTIONS" for t in node.targets
            ):
                assert isinstance(node.value, ast.Dict)
                for key in node.value.keys:
                    assert isinstance(key, ast.Constant)
                    found.setdefault(key.value, set()).add(path.name)
    return found


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
    assert sorted(set(OURS) - set(codes_written())) == []


def test_frictionless_codes_are_frictionless_own_and_ours_never_copy_one() -> None:
    real = frictionless_codes()
    assert sorted(set(FRICTIONLESS) - real) == []
    assert sorted(set(OURS) & real) == []
    assert all(info.frictionless for info in FRICTIONLESS.values())
    assert not any(info.frictionless for info in OURS.values())


def test_every_entry_has_a_french_title_and_its_default_severity() -> None:
    assert all(info.title and info.title != code for code, info in CODES.items())
    assert code_info("recul-sans-commentaire").severity == Severity.WARNING
    assert code_info("date-francaise").severity == Severity.CORRECTION
    assert code_info("nouveau-code-de-frictionless").frictionless  # never a failure in a report


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
    assert Problem.from_dict(problem.to_dict()) == problem


def test_no_other_record_of_a_data_problem_is_defined() -> None:
    classes = {
        node.name
        for path in [*(ROOT / "pipelines").rglob("*.py"), *(ROOT / "publish").rglob("*.py")]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    }
    assert {"Issue", "Finding"} & classes == set()
    # The columnar check's record of a frictionless error is frictionless's shape, turned
    # into a Problem by problem_of like frictionless's own errors.
    assert Path(inspect.getsourcefile(problem_of) or "").name == "problems.py"
