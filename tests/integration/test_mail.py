"""Mail for real: a relay on loopback (aiosmtpd, STARTTLS on a test CA, authentication),
contacts imported as French Excel saves them, `ogp remind` sending exactly the mails the
test computes from the files it sent, the interval and --force, a refused address, a relay
down then up, « try later », a connection cut after the transfer, and the receipts of a
collection (one per reception, none on a rerun). No address, password or token in any log
line or output."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.config import DatasetConfig, Settings
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.intake.mail import Postbox
from pipelines.intake.submissions import collect_submissions
from pipelines.io.smtp import RetryPolicy
from pipelines.state.contacts import ContactBook, ContactsInvalid
from pipelines.state.mails import MailJournal, Outcome
from tests.conftest import PROGRESS_SLUG, TODAY
from tests.integration.smtp_relay import PASSWORD, Relay, text_of
from tests.unit.intake.test_campaign import drop
from tests.unit.intake.test_progress_collection import HEADER, Pipeline

# Contacts as a steward types them in French Excel: accents in names, several per body.
CONTACTS = [
    ("ditp", "Élodie Ménard", "elodie.menard@ditp.exemple.fr"),
    ("ditp", "Jean-Noël Côté", "jn.cote@ditp.exemple.fr"),
    ("dinum", "Loïc Dupré", "loic.dupre@dinum.exemple.fr"),
    ("meae", "", "pgo@diplomatie.exemple.fr"),
    ("mtfp", "Anaïs Lefèvre", "anais.lefevre@fonction-publique.exemple.fr"),
]
ADDRESSES = [c[2] for c in CONTACTS]
REPORTED = {"E1-A1-01", "E1-A1-02"}  # the actions with an accepted report, as the test sends them
VALUED = {"E3-A1-01-C1"}  # the target given a value


def excel_csv(rows: list[tuple[str, str, str]], encoding: str = "utf-8-sig") -> bytes:
    """A CSV as French Excel writes it: « ; », CRLF, UTF-8 with BOM (« CSV UTF-8 ») or
    Windows-1252 (« CSV (séparateur : point-virgule) »)."""
    lines = ["id_organisation;nom;courriel"] + [";".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    started = Relay(tmp_path).start()
    yield started
    started.stop()


@pytest.fixture
def mail_env(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in relay.env.items():
        monkeypatch.setenv(key, value)
    return relay.env


def _campaign(tmp_path: Path, config: DatasetConfig) -> Pipeline:
    pipeline = Pipeline(tmp_path, config)
    drop(
        pipeline,
        "ditp/rapport.csv",
        HEADER + "E1-A1-01,2023-06-30,limite,20,,\nE1-A1-02,2023-06-30,limite,30,,\n",
        "2023-07-01",
    )
    drop(pipeline, "dinum/faux.csv", HEADER + "E1-A1-02,2023-06-30,fini,50,,\n", "2023-07-02")
    drop(pipeline, "dinum/corrige.csv", HEADER + "E1-A1-02,2023-09-30,substantiel,60,,\n", "2023-10-02")
    drop(pipeline, "meae/rapport.csv", HEADER + "E6-A1-01,2023-06-30,complet,100,,\n", "2023-07-03")
    drop(
        pipeline,
        "mtfp/cibles.csv",
        "id_cible;date_rapport;valeur_atteinte;commentaire;preuve_url\nE3-A1-01-C1;30/06/2023;45;;\n",
        "2023-07-05",
    )
    drop(pipeline, "orphelin.csv", HEADER + "E6-A1-01,2023-06-30,limite,10,,\n", "2023-07-04")
    return pipeline


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory, progress_config: DatasetConfig) -> Path:
    """The campaign collected without mail, then the contacts imported as Excel saves them:
    once per module (a collection takes seconds), each test working on a copy."""
    root = tmp_path_factory.mktemp("campagne")
    pipeline = _campaign(root, progress_config)
    pipeline.collect()
    source = root / "contacts.csv"
    source.write_bytes(excel_csv(CONTACTS))
    result = CliRunner().invoke(
        app, ["contacts", "import", str(source), *state_args(pipeline)], env=env_of(pipeline)
    )
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def campaign(collected: Path, tmp_path: Path, progress_config: DatasetConfig) -> Pipeline:
    """A copy of the collected campaign, its recorded inbox moved with it."""
    pipeline = Pipeline(tmp_path, progress_config)
    shutil.copytree(collected / "boite", pipeline.inbox, dirs_exist_ok=True)
    shutil.copytree(collected / "var", pipeline.settings.state_dir)
    record = pipeline.archive.layout.campaign
    document = json.loads(record.read_text(encoding="utf-8"))
    document["boite_de_depot"] = str(pipeline.inbox.resolve())
    record.write_text(json.dumps(document), encoding="utf-8")
    return pipeline


def state_args(pipeline: Pipeline) -> list[str]:
    return ["--state-dir", str(pipeline.settings.state_dir)]


def env_of(pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"OGP_SUBMISSIONS_INBOX": str(pipeline.inbox), **(extra or {})}


def remind(pipeline: Pipeline, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["remind", *args, *state_args(pipeline)], env=env_of(pipeline))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def expected_reminders(plan: PlanFacts) -> dict[str, dict[str, object]]:
    """What each body with contacts must be reminded of, from what the test sent."""
    expected: dict[str, dict[str, object]] = {}
    for body in sorted({c[0] for c in CONTACTS}):
        expected[body] = {
            "actions": sorted(a for a in plan.actions_of(body) if a not in REPORTED),
            "targets": sorted(t.id_cible for t in plan.targets_of(body) if t.id_cible not in VALUED),
            "rejected": ["rapport.csv"] if body == "meae" else [],
            "to": sorted(c[2] for c in CONTACTS if c[0] == body),
        }
    return {b: e for b, e in expected.items() if e["actions"] or e["targets"] or e["rejected"]}


def listed(text: str, heading: str) -> list[str]:
    """The identifiers listed under a heading of a mail's text (« - E1-A1-03 : … » lines)."""
    if heading not in text:
        return []
    section = text.split(heading, 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    return sorted(re.findall(r"^- ([A-Z0-9-]+) :", section, flags=re.M))


def assert_nothing_personal(*texts: str) -> None:
    for text in texts:
        for secret in [*ADDRESSES, PASSWORD]:
            assert secret not in text, secret


def log_lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line of the pipeline (the test relay's own logger, « mail.log », aside)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def test_contacts_saved_by_french_excel_are_imported_with_their_accents(campaign: Pipeline) -> None:
    book = ContactBook(campaign.archive.root / "contacts.json").read()
    assert [(c.organisation, c.name, c.email) for c in book] == CONTACTS
    # The other Excel save (Windows-1252) reads the same.
    source = campaign.inbox.parent / "contacts-1252.csv"
    source.write_bytes(excel_csv(CONTACTS, "cp1252"))
    result = CliRunner().invoke(
        app, ["contacts", "import", str(source), *state_args(campaign)], env=env_of(campaign)
    )
    assert result.exit_code == 0, result.output
    assert [
        (c.organisation, c.name, c.email) for c in ContactBook(campaign.archive.root / "contacts.json").read()
    ] == CONTACTS
    listing = CliRunner().invoke(
        app, ["contacts", "list", "--org", "ditp", *state_args(campaign)], env=env_of(campaign)
    )
    assert listing.exit_code == 0 and "elodie.menard@ditp.exemple.fr" in listing.output
    assert "loic.dupre" not in listing.output


def test_a_contacts_file_with_problems_names_each_line_and_imports_nothing(campaign: Pipeline) -> None:
    before = (campaign.archive.root / "contacts.json").read_bytes()
    rows = [
        ("ditp", "A", "a@ditp.exemple.fr"),
        ("ditpp", "B", "b@ditp.exemple.fr"),  # unknown body (line 3)
        ("dinum", "C", "c-sans-arobase.exemple.fr"),  # malformed (line 4)
        ("ditp", "D", "A@ditp.exemple.fr"),  # the same address for ditp again (line 5)
    ]
    source = campaign.inbox.parent / "faux.csv"
    source.write_bytes(excel_csv(rows))
    result = CliRunner().invoke(
        app, ["contacts", "import", str(source), *state_args(campaign)], env=env_of(campaign)
    )
    assert result.exit_code == 2
    assert "rien n'a été importé" in result.output
    for line in ("ligne 3", "ligne 4", "ligne 5"):
        assert line in result.output
    assert "ditp" in result.output.split("ligne 3", 1)[1]  # the close identifier suggested
    assert (campaign.archive.root / "contacts.json").read_bytes() == before
    with pytest.raises(ContactsInvalid) as raised:
        from pipelines.state.contacts import parse_contacts

        parse_contacts(excel_csv(rows), {"ditp", "dinum"})
    assert [line for line, _ in raised.value.problems] == [3, 4, 5]


def test_remind_sends_exactly_the_computed_mails_then_waits_then_force(
    campaign: Pipeline,
    relay: Relay,
    mail_env: dict[str, str],
    plan: PlanFacts,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    expected = expected_reminders(plan)
    assert set(expected) == {"ditp", "dinum", "meae", "mtfp"}
    code, output = remind(campaign)
    assert code == 0, output
    assert len(relay.received) == len(expected)
    for body, wanted in expected.items():
        (mail,) = [m for m in relay.received if sorted(m.recipients) == wanted["to"]]
        message = mail.message
        assert sorted(a.addr_spec for a in message["To"].addresses) == wanted["to"]
        text = text_of(message)
        assert listed(text, "Actions sans rapport") == wanted["actions"], body
        assert listed(text, "Cibles sans valeur atteinte") == wanted["targets"], body
        for name in wanted["rejected"]:  # type: ignore[attr-defined]
            assert f"- {name}, reçu le" in text and "Que faire" in text
        assert message["Message-ID"] and message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        assert mail.sender == "suivi-pgo@exemple.gouv.fr"
    # The accented names travel encoded, and read back whole.
    ditp = next(m for m in relay.received if "jn.cote@ditp.exemple.fr" in m.recipients)
    assert {a.display_name for a in ditp.message["To"].addresses} == {"Élodie Ménard", "Jean-Noël Côté"}
    journal = MailJournal(campaign.archive.root / "courriels" / "journal.jsonl").mails()
    assert sorted(m.planned.organisation for m in journal) == sorted(expected)
    assert all(m.outcome is Outcome.SENT for m in journal)
    # A second run within the interval sends nothing, and says who was skipped and why.
    code, again = remind(campaign)
    assert code == 0 and len(relay.received) == len(expected)
    for body in expected:
        assert f"Non relancé : {body} : relancé le" in again
    # --force sends them again.
    code, forced = remind(campaign, "--force")
    assert code == 0 and len(relay.received) == 2 * len(expected)
    assert_nothing_personal(output, again, forced, log_lines(caplog))
    journal_text = (campaign.archive.root / "courriels" / "journal.jsonl").read_text(encoding="utf-8")
    assert_nothing_personal(journal_text)


def test_one_refused_address_is_reported_for_its_body_and_the_others_still_go(
    campaign: Pipeline, relay: Relay, mail_env: dict[str, str], plan: PlanFacts
) -> None:
    relay.handler.refused = {"jn.cote@ditp.exemple.fr"}
    code, output = remind(campaign)
    assert code == 3, output  # a mail partly refused: the steward has something to fix
    delivered = sorted(r for m in relay.received for r in m.recipients)
    assert delivered == sorted(a for a in ADDRESSES if a != "jn.cote@ditp.exemple.fr")
    refused_id = next(
        c.id
        for c in ContactBook(campaign.archive.root / "contacts.json").read()
        if c.email.startswith("jn.cote")
    )
    assert f"le contact {refused_id} (550" in output
    assert_nothing_personal(output)
    (ditp,) = [
        m
        for m in MailJournal(campaign.archive.root / "courriels" / "journal.jsonl").mails()
        if m.planned.organisation == "ditp"
    ]
    assert ditp.outcome is Outcome.SENT and list(ditp.outcomes[-1].refused) == [refused_id]
    listing = CliRunner().invoke(app, ["contacts", "list", *state_args(campaign)], env=env_of(campaign))
    assert "550" in next(line for line in listing.output.splitlines() if "jn.cote" in line)


def test_a_relay_down_then_up_gets_each_mail_once(
    campaign: Pipeline, relay: Relay, mail_env: dict[str, str], plan: PlanFacts
) -> None:
    relay.stop()
    threading.Timer(1.0, relay.start).start()  # up again during the first back-off (2 s)
    started = time.monotonic()
    code, output = remind(campaign, "--org", "ditp")
    assert code == 0, output
    assert time.monotonic() - started >= 1.0
    assert [sorted(m.recipients) for m in relay.received] == [expected_reminders(plan)["ditp"]["to"]]
    code, output = remind(campaign, "--org", "ditp")
    assert len(relay.received) == 1 and "Non relancé : ditp" in output


def test_try_later_is_retried_without_a_duplicate_and_a_cut_transfer_is_never_resent(
    campaign: Pipeline, relay: Relay, mail_env: dict[str, str], tmp_path: Path
) -> None:
    relay.handler.try_later = 2  # two « 451 » after DATA, then accepted
    code, output = remind(campaign, "--org", "dinum")
    assert code == 0, output
    assert len(relay.received) == 1
    (mail,) = MailJournal(campaign.archive.root / "courriels" / "journal.jsonl").mails()
    assert mail.outcome is Outcome.SENT
    # The relay takes the message then the connection is cut before its answer: perhaps sent.
    relay.handler.cut = 1
    code, output = remind(campaign, "--org", "meae")
    assert code == 3 and len(relay.received) == 2
    assert "envoi incertain" in output
    code, output = remind(campaign, "--org", "meae")  # within the interval: not sent again
    assert len(relay.received) == 2 and "Non relancé : meae" in output


def test_dry_run_writes_each_mail_and_sends_nothing(
    campaign: Pipeline, tmp_path: Path, plan: PlanFacts
) -> None:
    folder = tmp_path / "apercu"
    code, output = remind(campaign, "--dry-run", str(folder))
    assert code == 0, output
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(f"relance-{b}.eml" for b in expected_reminders(plan))
    assert not (campaign.archive.root / "courriels" / "journal.jsonl").exists()


def test_remind_without_mail_settings_says_how_to_set_them(campaign: Pipeline) -> None:
    code, output = remind(campaign)
    assert code == 2 and "OGP_SMTP_HOST" in output and "--dry-run" in output


def test_every_reception_gets_one_receipt_and_a_rerun_none(
    tmp_path: Path,
    progress_config: DatasetConfig,
    relay: Relay,
    mail_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pipeline = _campaign(tmp_path, progress_config)
    settings = Settings(state_dir=pipeline.settings.state_dir, submissions_inbox=pipeline.inbox).check()
    ContactBook(pipeline.archive.root / "contacts.json").path.parent.mkdir(parents=True, exist_ok=True)
    (pipeline.inbox.parent / "c.csv").write_bytes(excel_csv(CONTACTS))
    result = CliRunner().invoke(
        app,
        ["contacts", "import", str(pipeline.inbox.parent / "c.csv"), *state_args(pipeline)],
        env=env_of(pipeline),
    )
    assert result.exit_code == 0, result.output

    def collect() -> list[str]:
        postbox = Postbox(pipeline.archive.layout, settings, policy=RetryPolicy(first_delay=0.1))
        summary = collect_submissions(
            pipeline.config, settings, today=TODAY, clock=pipeline.clock, postbox=postbox
        )
        return summary.mail

    lines = collect()
    journal = [
        json.loads(line) for line in (pipeline.archive.root / "journal.jsonl").read_text().splitlines()
    ]
    attributed = [e for e in journal if e.get("organisme") in {c[0] for c in CONTACTS}]
    assert len(attributed) == 5  # the orphan has no body, hence no receipt
    assert len(relay.received) == len(attributed)
    by_file = {
        (m.recipients[0].split("@")[1], text_of(m.message).split("« ", 1)[1].split(" »", 1)[0]): m
        for m in relay.received
    }
    for entry in attributed:
        domain = next(c[2].split("@")[1] for c in CONTACTS if c[0] == entry["organisme"])
        message = by_file[(domain, entry["fichier"])].message
        accepted = entry["verdict"] == "accepte"
        assert ("ACCEPTÉ" if accepted else "REJETÉ") in text_of(message)
        assert ("accepté" if accepted else "rejeté") in message["Subject"]
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == f"rapport-{entry['fichier']}.html"
        if not accepted:
            assert "Que faire" in text_of(message)
    assert lines == [f"Accusés de réception envoyés : {len(attributed)}."]
    # A rerun receives nothing new and sends nothing.
    assert collect() == [] and len(relay.received) == len(attributed)
    assert_nothing_personal("\n".join(lines), log_lines(caplog))


def test_receipts_the_relay_could_not_take_go_at_the_next_collection(
    tmp_path: Path, progress_config: DatasetConfig, relay: Relay, mail_env: dict[str, str]
) -> None:
    pipeline = Pipeline(tmp_path, progress_config)
    settings = Settings(state_dir=pipeline.settings.state_dir, submissions_inbox=pipeline.inbox).check()
    pipeline.archive.root.mkdir(parents=True)
    ContactBook(pipeline.archive.root / "contacts.json").replace([])
    (pipeline.inbox.parent / "c.csv").write_bytes(excel_csv(CONTACTS))
    CliRunner().invoke(
        app,
        ["contacts", "import", str(pipeline.inbox.parent / "c.csv"), *state_args(pipeline)],
        env=env_of(pipeline),
    )
    drop(pipeline, "ditp/a.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", "2023-07-01")
    drop(pipeline, "dinum/b.csv", HEADER + "E1-A1-02,2023-06-30,limite,20,,\n", "2023-07-02")
    relay.stop()

    def collect() -> list[str]:
        postbox = Postbox(pipeline.archive.layout, settings, policy=RetryPolicy(attempts=2, first_delay=0.1))
        return collect_submissions(
            pipeline.config, settings, today=TODAY, clock=pipeline.clock, postbox=postbox
        ).mail

    lines = collect()
    assert any("échec" in line for line in lines), lines
    mails = MailJournal(pipeline.archive.root / "courriels" / "journal.jsonl").mails()
    assert [m.outcome for m in mails] == [Outcome.FAILED, Outcome.FAILED]
    relay.start()
    drop(pipeline, "ditp/c.csv", HEADER + "E1-A1-01,2023-09-30,limite,30,,\n", "2023-10-01")
    lines = collect()
    assert lines == ["Accusés de réception envoyés : 3."]
    assert sorted(len(m.recipients) for m in relay.received) == [1, 2, 2]
    ids = [m.message["Message-ID"] for m in relay.received]
    assert len(set(ids)) == 3 and {m.planned.message_id for m in mails} <= set(ids)  # the same messages
    assert collect() == [] and len(relay.received) == 3


def test_receipts_without_mail_settings_are_said_once(tmp_path: Path, progress_config: DatasetConfig) -> None:
    pipeline = _campaign(tmp_path, progress_config)
    lines = pipeline.collect().mail
    assert lines == [
        "Courriel non configuré (OGP_SMTP_HOST) : aucun accusé de réception envoyé (5 réception(s))."
    ]
    assert pipeline.collect().mail == []  # nothing received, nothing to say


@pytest.mark.slow
def test_ogp_run_sends_receipts_and_writes_no_address_anywhere_but_the_state_folder(
    tmp_path: Path, relay: Relay
) -> None:
    """`ogp run` as a process, verbose (every log line shown): the receipts go, and no
    address or password is in its output, in any published file or in any report."""
    import os
    import subprocess
    import sys

    from tests.integration.inbox import drop as put

    inbox, state, out = tmp_path / "boite", tmp_path / "var", tmp_path / "site"
    put(inbox, "ditp/rapport.csv", (HEADER + "E1-A1-01,2023-06-30,limite,20,,\n").encode(), "2023-07-01")
    put(inbox, "meae/rapport.csv", (HEADER + "E6-A1-01,2023-06-30,complet,100,,\n").encode(), "2023-07-02")
    (tmp_path / "contacts.csv").write_bytes(excel_csv(CONTACTS))
    env = {
        **os.environ,
        **relay.env,
        "OGP_SUBMISSIONS_INBOX": str(inbox),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    ogp = str(Path(sys.executable).parent / "ogp")
    imported = subprocess.run(
        [ogp, "contacts", "import", str(tmp_path / "contacts.csv"), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    run = subprocess.run(
        [ogp, "run", "--out", str(out), "--state-dir", str(state), "--verbose"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 3, run.stderr  # meae's file is rejected
    assert sorted(r for m in relay.received for r in m.recipients) == sorted(
        c[2] for c in CONTACTS if c[0] in ("ditp", "meae")
    )
    assert "Accusés de réception envoyés : 2." in run.stdout
    assert_nothing_personal(run.stdout, run.stderr)
    written = [p for p in out.rglob("*") if p.is_file()]
    written += [p for p in state.rglob("rapport.*")] + [p for p in state.rglob("etat-collecte.*")]
    written += [
        state / PROGRESS_SLUG / "journal.jsonl",
        state / PROGRESS_SLUG / "courriels" / "journal.jsonl",
    ]
    assert len(written) > 50
    for path in written:
        content = path.read_bytes()
        for secret in [*ADDRESSES, PASSWORD, "ditp.exemple.fr"]:
            assert secret.encode() not in content, (path, secret)
