"""The project says true things about itself: each module's first line names its layer, and
every path or module the README names exists."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

from tests.conftest import ROOT

# The label a module's docstring starts with, per layer of pyproject.toml's contract.
LABELS = {
    "pipelines.cli": "Command:",
    "pipelines.web": "Web:",
    "pipelines.flows": "Orchestration:",
    "pipelines.deployments": "Orchestration:",
    "publish": "Publish stage:",
    "pipelines.intake": "Intake:",
    "pipelines.build": "Build stage:",
    "pipelines.validate": "Validate stage:",
    "pipelines.gather": "Gather stage:",
    "pipelines.state": "State:",
    "pipelines.io": "I/O:",
    "pipelines.core": "Core:",
}
README = (ROOT / "README.md").read_text(encoding="utf-8")
CODE_SPANS = re.findall(r"`([^`\n]+)`", README)


def layers() -> list[str]:
    document = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in document["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return list(contract["layers"])


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_module_names_its_layer_on_its_first_line() -> None:
    contract = layers()
    assert set(contract) <= set(LABELS), set(contract) - set(LABELS)
    modules = sorted(p for root in ("pipelines", "publish") for p in (ROOT / root).rglob("*.py"))
    wrong = []
    for path in modules:
        name = module_name(path)
        if name == "pipelines":
            continue  # the root package: all layers
        layer = max(
            (lay for lay in contract if name == lay or name.startswith(lay + ".")), key=len, default=None
        )
        assert layer is not None, f"{name} is in no layer of pyproject.toml"
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        # « Gather stage: », « Gather stage, the plan: », « Gather stage (upstream end): »
        label = LABELS[layer].rstrip(":")
        rest = docstring[len(label) :] if docstring.startswith(label) else ""
        if not rest.startswith((":", ",", " (")):
            wrong.append((name, LABELS[layer], docstring.splitlines()[0] if docstring else None))
    assert len(modules) > 80
    assert wrong == []


def test_every_path_the_readme_names_exists() -> None:
    """A path of the checkout (``pipelines/state/layout.py``, ``tests/integration/``), one
    relative to a stage package (``gather/submissions/records.py``), or a bare module or test
    file name (``test_lock.py``): each exists. Placeholders (``<slug>``) and the output's paths
    (``site/…``, ``var/…``) are not the checkout's."""
    # Folders a run makes are not the checkout's (site/, var/, test-output/).
    made = ("site", "var", "test-output")
    top = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in made}
    packages = {
        p.name: p.parent for root in ("pipelines", "publish") for p in (ROOT / root).iterdir() if p.is_dir()
    }
    named = {
        p.name
        for root in ("pipelines", "publish", "tests", "tools", "bench")
        for p in (ROOT / root).rglob("*.py")
    }
    checked, missing = 0, []
    for span in CODE_SPANS:
        for word in span.split():
            path = word.strip("()[],;:")
            if not re.fullmatch(r"\.?[\w\-][\w.\-/]*", path) or path.startswith("./"):
                continue
            first = path.split("/")[0]
            if "/" in path and first in top:
                exists = (ROOT / path).exists()
            elif "/" in path and first in packages and first not in made:  # site/…: the output's
                exists = (packages[first] / path).exists()
            elif "/" not in path and path.endswith(".py"):
                exists = path in named
            else:
                continue
            checked += 1
            if not exists:
                missing.append(path)
    assert checked > 40
    assert missing == []


def test_every_module_the_readme_names_exists() -> None:
    """``publish.versioning.commit.recover``, ``pipelines.core.config.Settings``: a module,
    and what follows it an attribute of it."""
    dotted = {w.strip("().,") for span in CODE_SPANS for w in span.split()}
    names = sorted(w for w in dotted if re.fullmatch(r"(pipelines|publish)(\.\w+)+", w))
    assert len(names) > 3
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found: object = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attribute in parts[cut:]:
                assert hasattr(found, attribute), name
                found = getattr(found, attribute)
            break
        else:
            raise AssertionError(name)
