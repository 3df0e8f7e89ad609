"""A run of the catalogue as plain functions (``publish.run``): its order, its errors, and
the steps it skips; the same order as the Prefect flow's (``ogp run --dask`` and the
deployments give the same bytes: tests/integration/test_ogp_run.py, test_prefect_server.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.errors import ConfigError, SourceUnavailable
from pipelines.core.schema import TableSchema
from pipelines.io import steps as progress
from publish.run import IN_PROCESS, Built, Done, InProcess, Outcome, run_catalog, run_verdict
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG


@pytest.fixture()
def run_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("OGP_SUBMISSIONS_INBOX", raising=False)
    return Settings(state_dir=tmp_path / "var").check()


def test_a_run_publishes_every_dataset_in_slug_order_then_a_rerun_reads_nothing(
    run_settings: Settings, tmp_path: Path
) -> None:
    seen: list[tuple[str, str]] = []
    progress.watch(lambda dataset, step: seen.append((dataset, step)))
    try:
        outcomes = run_catalog(tmp_path / "site", run_settings)
        assert [(o.release.slug, o.release.version, o.release.published) for o in outcomes] == [
            (PLAN_SLUG, "1.0.0", True),
            (PROGRESS_SLUG, "1.0.0", True),
        ]
        assert outcomes[1].collection is not None and len(outcomes[1].collection.accepted) == 4
        assert (tmp_path / "site" / "catalog.ttl").is_file() and (tmp_path / "site" / "index.html").is_file()
        assert [s for s in seen if s[0] == PLAN_SLUG] == [
            (PLAN_SLUG, "collecte"),
            (PLAN_SLUG, "publication"),
            (PLAN_SLUG, "terminé"),
        ]
        seen.clear()
        again = run_catalog(tmp_path / "site", run_settings)
    finally:
        progress._watchers.clear()
    assert [(o.release.version, o.release.published) for o in again] == [("1.0.0", False), ("1.0.0", False)]
    # The plan's inputs have the served version's checksums: neither gathered nor built.
    assert (PLAN_SLUG, "collecte") not in seen and (PLAN_SLUG, "terminé") in seen
    assert run_verdict(again).message == "Rien de nouveau à publier." and run_verdict(again).rejected == []
    assert run_verdict(outcomes).message == f"Publié : {PLAN_SLUG} 1.0.0, {PROGRESS_SLUG} 1.0.0"


class Recording(InProcess):
    """The plain steps, each call recorded; the plan's gathering fails like a changed source."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def collect(self, config: DatasetConfig, settings: Settings, out: Path) -> Outcome[Any]:
        self.calls.append(("collect", config.slug))
        return super().collect(config, settings, out)

    def gather(
        self, config: DatasetConfig, settings: Settings, after: Sequence[Outcome[Any]]
    ) -> Outcome[Any]:
        self.calls.append(("gather", config.slug))
        if config.slug == PLAN_SLUG:
            return Done(error=ConfigError("La source a changé.", hint="…"))
        return super().gather(config, settings, after)

    def build(self, gathered: Outcome[Any], schemas: dict[str, TableSchema]) -> Outcome[Built]:
        built = super().build(gathered, schemas)
        self.calls.append(("build", "échec" if isinstance(built, Done) and built.error else "fait"))
        return built

    def release(self, out: Path, config: DatasetConfig, *args: Any) -> Any:
        self.calls.append(("release", config.slug))
        return super().release(out, config, *args)


def test_the_first_dataset_s_own_error_is_raised_after_every_collection_and_nothing_is_released(
    run_settings: Settings, tmp_path: Path
) -> None:
    """As under Prefect: every collection runs before the first release, the error raised is
    the first dataset's own, and no dataset after it is released."""
    steps = Recording()
    with pytest.raises(ConfigError, match="La source a changé"):
        run_catalog(tmp_path / "site", run_settings, steps)
    assert steps.calls[0] == ("collect", PROGRESS_SLUG)
    assert ("build", "échec") in steps.calls  # the plan's build never ran on nothing
    assert not [c for c in steps.calls if c[0] == "release"]
    assert not (tmp_path / "site" / "datasets").exists()
    journal = run_settings.state_dir / PROGRESS_SLUG / "journal.jsonl"
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 4  # the samples received, kept


def test_a_step_s_error_is_raised_when_its_result_is_asked_for_and_stops_what_depends_on_it() -> None:
    ran: list[str] = []
    failed = IN_PROCESS.build(Done(error=SourceUnavailable("injoignable")), {})
    assert isinstance(failed, Done) and isinstance(failed.error, SourceUnavailable)
    with pytest.raises(SourceUnavailable):
        failed.result()

    def gather(*args: Any) -> dict[str, Any]:
        ran.append("gather")
        return {}

    from publish import run

    done = run._attempt(gather, after=[failed])
    assert ran == [] and done.error is failed.error
    assert run._attempt(gather).result() == {} and ran == ["gather"]
