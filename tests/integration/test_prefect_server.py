"""Prefect for real: `make server` on loopback, `prefect deploy` from prefect.yaml, `make
worker`, deployment runs triggered and watched through the API; their names, tags, states,
French logs and artifacts read back; the worker stopped with one SIGTERM."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from pipelines.core.times import today_in_paris
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT
from tests.integration.smtp_relay import Relay, text_of

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"


# Under load, the server's SQLite answers « database is locked »; Prefect turns that into a
# 503 that its own client retries (prefect.client.base: 429, 502 and 503, with backoff). A
# flaky `KeyError: 'id'` was this 503 read as a flow run. The test client retries the same
# codes, and every answer is checked for its status with the body in the failure message.
RETRIED = Retry(
    total=8, backoff_factor=0.5, status_forcelist=(429, 502, 503), allowed_methods=None, raise_on_status=False
)


def api_call(prefect: dict, method: str, path: str, expected: int = 200, **kwargs: object) -> object:
    """The decoded answer of one API call, asserted to have the ``expected`` status."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=RETRIED))
    response = session.request(method, f"{prefect['api']}{path}", timeout=30, **kwargs)
    assert response.status_code == expected, (
        f"{method} {path}: HTTP {response.status_code}: {response.text[:2000]}\n"
        + (prefect["logs"] / "server.log").read_text(errors="replace")[-3000:]
    )
    return response.json()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def make(target: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``make server`` or ``make worker`` as a steward types it, in a session of its own."""
    return subprocess.Popen(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def tree(process: subprocess.Popen[bytes]) -> list[int]:
    """The process and every process below it (make, the supervisor, Prefect, flow runs)."""
    return [process.pid, *(p.pid for p in psutil.Process(process.pid).children(recursive=True))]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``make server``, the deployments of prefect.yaml and ``make worker``; stopped afterwards."""
    root = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base_env = {
        **os.environ,
        "PREFECT_HOME": str(root / "home"),
        "PREFECT_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api,
    }
    base_env.pop("PREFECT_API_KEY", None)
    base_env.pop("MAKEFLAGS", None)
    logs = root / "logs"
    logs.mkdir()
    server = make("server", base_env, logs / "server.log")
    processes = [server]
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{api}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (logs / "server.log").read_text()
            time.sleep(1)

        def cli(*args: str) -> None:
            result = subprocess.run(
                [str(BIN / "prefect"), *args],
                cwd=ROOT,
                env=base_env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stdout + result.stderr

        cli("work-pool", "create", "ogp-process", "--type", "process")
        cli("--no-prompt", "deploy", "--all")
        inbox = root / "boite"
        (inbox / "ditp").mkdir(parents=True)
        (inbox / "ditp" / "bon.csv").write_text(
            HEADER + "E1-A1-01,2022-12-31,limite,20,,\n", encoding="utf-8"
        )
        (inbox / "ditp" / "mauvais.csv").write_text(
            HEADER + "E1-A1-01,2022-12-31,fini,200,,\n", encoding="utf-8"
        )
        worker_env = {
            **base_env,
            "OGP_SUBMISSIONS_INBOX": str(inbox),
            "OGP_TASK_RETRIES": "0",
            "OGP_STATE_DIR": str(root / "var"),
        }
        worker = make("worker", worker_env, logs / "worker.log")
        processes.append(worker)
        yield {"api": api, "root": root, "logs": logs, "worker": worker, "env": worker_env}
    finally:
        for process in reversed(processes):
            stop(process)


FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def create_run(prefect: dict, name: str, parameters: dict) -> dict:
    deployment = api_call(prefect, "GET", f"/deployments/name/{name}")
    return api_call(
        prefect,
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        201,
        json={"parameters": parameters},
    )


def wait_for(prefect: dict, run_id: str) -> dict:
    deadline = time.monotonic() + 400
    while True:
        run = api_call(prefect, "GET", f"/flow_runs/{run_id}")
        if run["state"]["type"] in FINAL:
            return run
        assert time.monotonic() < deadline, (prefect["logs"] / "worker.log").read_text()[-4000:]
        time.sleep(2)


def run_deployment(prefect: dict, name: str, parameters: dict) -> dict:
    return wait_for(prefect, create_run(prefect, name, parameters)["id"])


def run_logs(prefect: dict, run: dict) -> list[dict]:
    """The run's log as the UI shows it: every line shipped to the server, flow and tasks,
    once its last line (the final state's message, which every flow logs) has arrived: the
    run's process ships its log in batches, after its state."""
    deadline = time.monotonic() + 60
    while True:
        logs = api_call(
            prefect,
            "POST",
            "/logs/filter",
            json={"logs": {"flow_run_id": {"any_": [run["id"]]}}, "sort": "TIMESTAMP_ASC", "limit": 200},
        )
        if any(e["message"] == run["state"]["message"] for e in logs) or time.monotonic() > deadline:
            return logs
        time.sleep(1)


# What Prefect wraps an error in, in English: none may be in the log of an expected error.
ENGLISH_WRAPPERS = (
    "Traceback",
    "Engine execution exited",
    "encountered an exception",
    "Encountered exception",
    "Finished in state",
    "Task run failed",
    "NotReady",
)


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_french_only(logs: list[dict]) -> None:
    text = "\n".join(entry["message"] for entry in logs)
    assert [w for w in ENGLISH_WRAPPERS if w in text] == [], text


def artifacts(prefect: dict, flow_run_id: str) -> list[dict]:
    return api_call(
        prefect, "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
    )


def test_the_deployments_of_prefect_yaml_are_registered_with_schedules(prefect: dict) -> None:
    deployments = api_call(prefect, "POST", "/deployments/filter", json={})
    by_name = {d["name"]: d for d in deployments}
    assert set(by_name) == {
        "recevoir-soumissions-quotidien",
        "publier-catalogue-hebdomadaire",
        "valider-soumission",
    }
    daily = by_name["recevoir-soumissions-quotidien"]["schedules"][0]["schedule"]
    weekly = by_name["publier-catalogue-hebdomadaire"]["schedules"][0]["schedule"]
    assert (daily["cron"], daily["timezone"]) == ("0 6 * * *", "Europe/Paris")
    assert (weekly["cron"], weekly["timezone"]) == ("0 7 * * 1", "Europe/Paris")
    assert by_name["valider-soumission"]["schedules"] == []
    assert {d["work_pool_name"] for d in deployments} == {"ogp-process"}
    # The zone in words where the UI shows a schedule without it.
    for name in ("recevoir-soumissions-quotidien", "publier-catalogue-hebdomadaire"):
        assert "heure de Paris (Europe/Paris)" in by_name[name]["description"]
    # Every run is tagged with its datasets: a catalogue run with every dataset of datasets/.
    slugs = {p.parent.name for p in (ROOT / "datasets").glob("*/dataset.yaml")}
    assert slugs <= set(by_name["publier-catalogue-hebdomadaire"]["tags"])
    assert PROGRESS_SLUG in by_name["recevoir-soumissions-quotidien"]["tags"]
    assert PROGRESS_SLUG in by_name["valider-soumission"]["tags"]
    assert all("ogp" in d["tags"] for d in deployments)
    # One catalogue run (and one collection) at a time; the others wait.
    for name in ("recevoir-soumissions-quotidien", "publier-catalogue-hebdomadaire"):
        limited = by_name[name]
        assert (limited["global_concurrency_limit"] or {}).get("limit") == 1, limited
        assert limited["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    assert by_name["valider-soumission"]["global_concurrency_limit"] is None
    # The scheduled runs carry no folder: the worker's OGP_STATE_DIR and its campaign decide.
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in declared["deployments"]:
        assert not {"state_dir", "out", "inbox"} & set(deployment.get("parameters", {}))


def test_a_catalogue_run_publishes_and_says_which_file_was_rejected(prefect: dict) -> None:
    out = prefect["root"] / "site"
    run = run_deployment(prefect, "publier-catalogue/publier-catalogue-hebdomadaire", {"out": str(out)})
    state = run["state"]
    assert (state["type"], state["name"]) == ("COMPLETED", "Partiellement accepté"), state
    assert "mauvais.csv" in state["message"] and "REJETÉ" in state["message"]
    # Told apart from a clean run: by its tag (the UI's filter) and its state's name.
    assert "fichiers-rejetes" in run["tags"] and {"ogp", PLAN_SLUG, PROGRESS_SLUG} <= set(run["tags"])
    assert run["name"] == f"publication-{today_in_paris().isoformat()}"
    for slug in (PLAN_SLUG, PROGRESS_SLUG):
        assert (out / "datasets" / slug / "latest" / "datapackage.json").is_file()
    assert (out / "catalog.ttl").is_file() and (out / "index.html").is_file()
    found = {a["key"]: a for a in artifacts(prefect, run["id"])}
    day = today_in_paris().isoformat()
    table = found[f"publication-{PLAN_SLUG}-{day}"]
    assert table["type"] == "table" and "actions" in str(table["data"])
    reports = {key: a for key, a in found.items() if key.startswith("rapport-")}
    assert len(reports) == 2 and all(a["type"] == "markdown" for a in reports.values())
    (rejected_key,) = [key for key, a in reports.items() if "mauvais.csv" in a["description"]]
    assert rejected_key.startswith(f"rapport-{PROGRESS_SLUG}-ditp-{day}-")
    assert len(rejected_key.rsplit("-", 1)[1]) == 8  # the file's sha256, its first 8 hex
    rejected = reports[rejected_key]
    assert "valeur hors des règles du champ" in rejected["data"] and "Comment corriger" in rejected["data"]
    # The log says, in French, what the run did, each rejected file with its report.
    logs = run_logs(prefect, run)
    text = "\n".join(entry["message"] for entry in logs)
    assert f"{PROGRESS_SLUG} : 2 fichier(s) reçu(s) : 1 accepté(s), 1 rejeté(s)" in text
    assert "Rejeté : " in text and "mauvais.csv" in text and "rapport : " in text
    assert f"{PLAN_SLUG} : version " in text and "Catalogue DCAT et pages écrits" in text
    assert_french_only(logs)


def test_validating_a_bad_file_on_demand_fails_with_the_verdict_in_french_only(prefect: dict) -> None:
    bad = prefect["root"] / "a-valider.csv"
    bad.write_text(HEADER + "E9-A9-99,2022-12-31,limite,20,,\n", encoding="utf-8")
    run = run_deployment(prefect, "valider-soumission/valider-soumission", {"path": str(bad), "org": "ditp"})
    assert run["state"]["type"] == "FAILED"
    assert run["name"] == "validation-ditp-a-valider.csv"
    message = run["state"]["message"]
    assert message.startswith("a-valider.csv : REJETÉ") and "\nQue faire : " in message
    (report,) = artifacts(prefect, run["id"])
    assert report["key"].startswith(f"rapport-{PROGRESS_SLUG}-ditp-")
    assert (
        report["type"] == "markdown" and "référence inconnue" in report["data"]
    )  # the French title of foreign-key
    logs = run_logs(prefect, run)
    assert any(e["message"].startswith("Erreur : ligne 2") for e in logs)
    assert_french_only(logs)


def test_a_missing_inbox_fails_with_the_pipelines_sentence_and_fix(prefect: dict) -> None:
    missing = prefect["root"] / "boite-absente"
    run = run_deployment(
        prefect,
        "recevoir-soumissions/recevoir-soumissions-quotidien",
        {"inbox": str(missing), "state_dir": str(prefect["root"] / "var-absente")},
    )
    assert run["state"]["type"] == "FAILED"
    assert run["name"] == f"collecte-{today_in_paris().isoformat()}"
    message = run["state"]["message"]
    assert message.startswith(f"Boîte de dépôt des soumissions introuvable : {missing}"), message
    assert "\nQue faire : " in message and "ConfigError" not in message and "→" not in message
    logs = run_logs(prefect, run)
    assert any(e["message"] == message and e["level"] == 40 for e in logs), [
        (e["level"], e["message"]) for e in logs
    ]
    assert_french_only(logs)


def test_one_catalogue_run_at_a_time(prefect: dict) -> None:
    """Two catalogue runs asked at once: the second waits for the first (its limit), instead
    of both competing for the output's lock and SQLite."""
    parameters = {"out": str(prefect["root"] / "site")}
    first = create_run(prefect, "publier-catalogue/publier-catalogue-hebdomadaire", parameters)
    second = create_run(prefect, "publier-catalogue/publier-catalogue-hebdomadaire", parameters)
    runs = sorted(
        (wait_for(prefect, r["id"]) for r in (first, second)), key=lambda r: moment(r["start_time"])
    )
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"]
    assert moment(runs[1]["start_time"]) >= moment(runs[0]["end_time"]), runs
    assert all(r["state"]["message"] == "Rien de nouveau à publier." for r in runs)
    assert all("fichiers-rejetes" not in r["tags"] for r in runs)  # nothing new received


def test_an_accepted_upload_at_the_door_starts_the_publication_of_its_campaign(
    prefect: dict, tmp_path: Path
) -> None:
    """OGP_DROPOFF_PUBLISH_DEPLOYMENT: the door asks the Prefect server for a run of the
    publication, on the campaign it serves (its state, datasets and recorded output)."""
    import datetime as dt
    import hashlib
    import json

    from tests.integration.door import Body, Campaign, DoorProcess, fill_template

    inbox = prefect["root"] / "boite"  # the worker's OGP_SUBMISSIONS_INBOX
    campaign = Campaign(tmp_path, {"OGP_SUBMISSIONS_INBOX": str(inbox)})
    campaign.ogp("run", "--out", str(campaign.out), check=False)  # records the campaign's output
    token = campaign.grant("ditp")
    deployment = api_call(
        prefect, "GET", "/deployments/name/publier-catalogue/publier-catalogue-hebdomadaire"
    )
    door = DoorProcess(
        campaign,
        PREFECT_API_URL=prefect["api"],
        OGP_DROPOFF_PUBLISH_DEPLOYMENT="publier-catalogue/publier-catalogue-hebdomadaire",
    )
    try:
        body = Body(door.url, token)
        content = fill_template(
            body.template(),
            [
                (
                    "E1-A1-02",
                    dt.date(2022, 9, 30),
                    "Avancement limité",
                    15,
                    "Premier bilan",
                    "https://www.modernisation.gouv.fr/p",
                )
            ],
        )
        assert "ACCEPTÉ" in body.upload("bilan.xlsx", content).text
        deadline = time.monotonic() + 400
        while True:
            runs = api_call(
                prefect,
                "POST",
                "/flow_runs/filter",
                json={"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}},
            )
            mine = [r for r in runs if r["parameters"].get("state_dir") == str(campaign.state.resolve())]
            if mine and mine[0]["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED"):
                break
            assert time.monotonic() < deadline, door.output()[-3000:]
            time.sleep(2)
    finally:
        door.stop()
    assert len(mine) == 1 and mine[0]["state"]["type"] == "COMPLETED", mine[0]["state"]
    assert mine[0]["parameters"]["out"] == str(campaign.out.resolve())
    suivi = json.loads((campaign.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi.json").read_text())
    sha = hashlib.sha256(content).hexdigest()
    assert [(r["id_action"], r["date_rapport"]) for r in suivi if r["id_soumission"] == sha] == [
        ("E1-A1-02", "2022-09-30")
    ]


def ogp_run(prefect: dict, *args: str, server: bool) -> subprocess.CompletedProcess[str]:
    """``ogp run`` as a process, with this server configured (``PREFECT_API_URL``) or none."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect["root"] / "home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": prefect["api"] if server else "",
        "SOURCE_DATE_EPOCH": "1700000000",
        "OGP_TASK_RETRIES": "0",
    }
    return subprocess.run(
        [str(BIN / "ogp"), "run", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=400
    )


def files_of(root: Path) -> dict[str, bytes | str]:
    return {
        str(p.relative_to(root)): os.readlink(p) if p.is_symlink() else p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def test_ogp_run_with_a_configured_server_is_a_flow_run_there_and_publishes_the_same_bytes(
    prefect: dict, tmp_path: Path
) -> None:
    """With ``PREFECT_API_URL`` set, ``ogp run`` is the flow ``publier-catalogue``, recorded on
    that server with its state; without, the same steps called directly: the same files."""
    runs: dict[bool, Path] = {}
    for server in (False, True):
        out = tmp_path / f"site-{server}"
        result = ogp_run(
            prefect, "--out", str(out), "--state-dir", str(tmp_path / f"var-{server}"), server=server
        )
        assert result.returncode == 0, result.stderr
        runs[server] = out
    assert files_of(runs[True]) == files_of(runs[False])
    flows = {f["id"]: f["name"] for f in api_call(prefect, "POST", "/flows/filter", json={})}
    mine = [
        r
        for r in api_call(prefect, "POST", "/flow_runs/filter", json={})
        if r["parameters"].get("out") == str(runs[True])
    ]
    assert [(flows[r["flow_id"]], r["state"]["type"]) for r in mine] == [("publier-catalogue", "COMPLETED")]
    assert not [
        r
        for r in api_call(prefect, "POST", "/flow_runs/filter", json={})
        if r["parameters"].get("out") == str(runs[False])
    ]


def test_ogp_run_through_prefect_says_invalid_data_in_french_and_verbose_adds_prefect_s_line(
    prefect: dict, tmp_path: Path
) -> None:
    """Through Prefect, an error of ours is the French message alone; with --verbose,
    Prefect's own line is there too, without a traceback (the error is expected)."""
    from bench.synthetic import reference_keys, write_datasets_dir

    datasets = write_datasets_dir(tmp_path / "datasets", 300, invalid=True, keys=reference_keys())
    args = ("--datasets-dir", str(datasets), "--out", str(tmp_path / "site"))
    quiet = ogp_run(prefect, *args, "--state-dir", str(tmp_path / "var"), server=True)
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stderr.startswith("Erreur : ") and "Encountered exception" not in quiet.stderr, quiet.stderr
    assert "Traceback" not in quiet.stderr
    verbose = ogp_run(prefect, *args, "--state-dir", str(tmp_path / "var-2"), "--verbose", server=True)
    assert verbose.returncode == 1, verbose.stderr
    # The flow ends Failed with the French message (it no longer raises): Prefect's line is
    # the failed task's.
    assert "Task run failed with exception" in verbose.stderr and "Traceback" not in verbose.stderr


STEWARD = "pilote-pgo@exemple.gouv.fr"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """A real SMTP relay on loopback (STARTTLS, authentication), its messages kept."""
    started = Relay(tmp_path_factory.mktemp("relais")).start()
    yield started
    started.stop()


def ogp_watch(prefect: dict, relay: Relay, *args: str) -> subprocess.CompletedProcess[str]:
    """``ogp watch`` as ogp-veille.service starts it: the server's API, the relay, the stewards."""
    env = {
        **prefect["env"],
        **relay.env,
        "OGP_ALERT_TO": f"Pilote PGO <{STEWARD}>",
        "OGP_STATE_DIR": str(prefect["root"] / "veille"),
    }
    return subprocess.run(
        [str(BIN / "ogp"), "watch", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_the_watch_mails_the_steward_once_for_each_rejected_or_failed_run(
    prefect: dict, relay: Relay
) -> None:
    """After the runs above (a catalogue run with a rejected file, a failed validation, a
    collection without its inbox): one mail each to OGP_ALERT_TO through the project's relay,
    with the run's French message and its page; a second watch sends nothing again."""
    before = len(relay.received)
    watched = ogp_watch(prefect, relay, "--late-after", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    day = today_in_paris().isoformat()
    mails = {r.message["Subject"]: r for r in relay.received[before:]}
    wanted = {
        f"[PGO] Fichier(s) rejeté(s) : publication-{day}",
        "[PGO] Passage en échec : validation-ditp-a-valider.csv",
        f"[PGO] Passage en échec : collecte-{day}",
    }
    assert wanted <= set(mails), sorted(mails)
    assert not [s for s in mails if "non démarré" in s], sorted(mails)
    assert all(r.recipients == [STEWARD] for r in relay.received[before:])
    rejected = text_of(mails[f"[PGO] Fichier(s) rejeté(s) : publication-{day}"].message)
    assert (
        "mauvais.csv (depot:ditp/mauvais.csv) : REJETÉ" in rejected
        and f"{prefect['api'].removesuffix('/api')}/runs/flow-run/" in rejected
    )
    missing = text_of(mails[f"[PGO] Passage en échec : collecte-{day}"].message)
    assert "Boîte de dépôt des soumissions introuvable" in missing and "Que faire : " in missing
    assert STEWARD not in watched.stdout + watched.stderr  # a personal address in no output
    count = len(relay.received)
    again = ogp_watch(prefect, relay, "--late-after", "60")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(relay.received) == count and "0 nouvelle(s) alerte(s)" in again.stdout


def test_the_worker_stops_with_its_flow_run_on_one_sigterm_and_takes_no_later_run(prefect: dict) -> None:
    """``make worker`` given one SIGTERM while a publication runs: make, the supervisor, the
    worker and the flow run's processes all end (checked by pid), the run ends Crashed
    (safe to run again), and a run asked afterwards is not started by anyone."""
    worker = prefect["worker"]
    # The campaign's own output (another would be refused at once), a new file to receive so
    # that the run has work for a few seconds; the signal as soon as it runs.
    (prefect["root"] / "boite" / "ditp" / "nouveau.csv").write_text(
        HEADER + "E1-A1-01,2023-06-30,limite,40,,\n", encoding="utf-8"
    )
    running = create_run(prefect, "publier-catalogue/publier-catalogue-hebdomadaire", {})
    deadline = time.monotonic() + 300
    while (state := api_call(prefect, "GET", f"/flow_runs/{running['id']}")["state"])["type"] != "RUNNING":
        assert state["type"] not in FINAL, state  # ended before it was seen running
        assert time.monotonic() < deadline, (prefect["logs"] / "worker.log").read_text()[-4000:]
        time.sleep(0.2)
    pids = tree(worker)
    assert len(pids) >= 4, pids  # make, pipelines.io.service, prefect worker, the flow run
    stopped = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)  # make's pid: the one signal a steward sends
    worker.wait(timeout=90)
    while any(alive(p) for p in pids) and time.monotonic() < stopped + 90:
        time.sleep(0.5)
    assert [p for p in pids if alive(p)] == []
    assert time.monotonic() - stopped < 60
    ended = api_call(prefect, "GET", f"/flow_runs/{running['id']}")["state"]
    assert ended["type"] in ("CRASHED", "FAILED", "CANCELLED"), ended  # not left « Running »
    later = create_run(prefect, "valider-soumission/valider-soumission", {"org": "ditp"})
    prefect["late"], prefect["crashed"] = later["id"], running["id"]
    time.sleep(35)  # three times the worker's polling interval (10 s)
    state = api_call(prefect, "GET", f"/flow_runs/{later['id']}")["state"]
    assert state["type"] == "SCHEDULED" and state["name"] in ("Scheduled", "Late"), state


def test_a_run_no_worker_took_and_the_run_the_stop_crashed_are_mailed(prefect: dict, relay: Relay) -> None:
    """With the worker stopped (the test above), the run asked afterwards is late: the watch
    mails it (« non démarré »), and the run the stop ended, once each."""
    before = len(relay.received)
    watched = ogp_watch(prefect, relay, "--late-after", "0")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    texts = {r.message["Subject"]: text_of(r.message) for r in relay.received[before:]}
    late = [s for s, text in texts.items() if f"/runs/flow-run/{prefect['late']}" in text]
    assert len(late) == 1 and late[0].startswith("[PGO] Passage non démarré : "), texts
    assert "systemctl status ogp-prefect-worker" in texts[late[0]]
    crashed = [s for s, text in texts.items() if f"/runs/flow-run/{prefect['crashed']}" in text]
    assert len(crashed) == 1 and crashed[0].startswith("[PGO] Passage en échec : publication-"), texts
