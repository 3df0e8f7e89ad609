"""Which scheduled runs alert the stewards, their mail's key and text, OGP_ALERT_TO read."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.core.config import load_settings
from pipelines.intake.alerts import (
    STEWARDS,
    Alert,
    AlertSettingError,
    alerts_for,
    letter_for,
    steward_contacts,
)
from pipelines.io.prefect_api import RunSeen

NOW = dt.datetime(2026, 12, 7, 6, 30, tzinfo=dt.UTC)


def run(
    name: str,
    state_type: str,
    state_name: str = "",
    tags: tuple[str, ...] = ("ogp",),
    due_minutes_ago: int = 20,
    message: str = "",
) -> RunSeen:
    return RunSeen(
        id=f"id-{name}",
        name=name,
        deployment="publier-catalogue/publier-catalogue-hebdomadaire",
        state_type=state_type,
        state_name=state_name or state_type.title(),
        message=message,
        tags=tags,
        expected_start=NOW - dt.timedelta(minutes=due_minutes_ago),
    )


def test_failed_crashed_rejected_and_late_runs_alert_the_others_do_not() -> None:
    runs = [
        run("clean", "COMPLETED"),
        run("rejected", "COMPLETED", "Partiellement accepté", ("ogp", "fichiers-rejetes")),
        run("failed", "FAILED"),
        run("crashed", "CRASHED"),
        run("late", "SCHEDULED", "Late", due_minutes_ago=11),
        run("pending-late", "PENDING", due_minutes_ago=30),
        run("soon", "SCHEDULED", due_minutes_ago=-60),
        run("just-due", "SCHEDULED", due_minutes_ago=5),
        run("running", "RUNNING", due_minutes_ago=60),
        run("cancelled", "CANCELLED"),
    ]
    found = [(a.run.name, a.reason) for a in alerts_for(runs, NOW, dt.timedelta(minutes=10))]
    assert found == [
        ("rejected", "rejet"),
        ("failed", "echec"),
        ("crashed", "echec"),
        ("late", "retard"),
        ("pending-late", "retard"),
    ]


def test_an_alert_s_letter_is_keyed_by_run_and_reason_and_escapes_the_message() -> None:
    failed = run(
        "publication-2026-12-07", "FAILED", message="Boîte introuvable : <var>\nQue faire : créez-la."
    )
    letter = letter_for(Alert(failed, "echec"), "http://127.0.0.1:4200/api")
    assert letter.key == "alerte:id-publication-2026-12-07:echec" and letter.organisation == STEWARDS
    assert letter.subject == "[PGO] Passage en échec : publication-2026-12-07"
    assert "Que faire : créez-la." in letter.text
    assert "http://127.0.0.1:4200/runs/flow-run/id-publication-2026-12-07" in letter.text
    assert "&lt;var&gt;" in letter.html and "<var>" not in letter.html
    assert "(heure de Paris, UTC+1)" in letter.text  # 7 December: winter time
    late = letter_for(
        Alert(run("collecte-2026-12-07", "SCHEDULED", "Late", message="ignored"), "retard"), "x/api"
    )
    assert late.key.endswith(":retard") and "ignored" not in late.text


def test_the_stewards_are_read_from_ogp_alert_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGP_ALERT_TO", "pilote@exemple.gouv.fr, Équipe PGO <pgo@exemple.gouv.fr>")
    contacts = steward_contacts(load_settings())
    assert [(c.organisation, c.email, c.name) for c in contacts] == [
        (STEWARDS, "pilote@exemple.gouv.fr", ""),
        (STEWARDS, "pgo@exemple.gouv.fr", "Équipe PGO"),
    ]
    monkeypatch.setenv("OGP_ALERT_TO", "pilote@exemple.gouv.fr,pas-une-adresse")
    with pytest.raises(AlertSettingError) as raised:
        steward_contacts(load_settings())
    assert raised.value.context == {"setting": "OGP_ALERT_TO"} and "n° 2" in raised.value.message
    assert "pas-une-adresse" not in str(raised.value)
    monkeypatch.delenv("OGP_ALERT_TO")
    with pytest.raises(AlertSettingError):
        steward_contacts(load_settings())
