"""`make bench-full`: rows per second and peak memory of the pipeline against frictionless alone.

Each case runs in a fresh process (so peak RSS is its own), several times; the median
time is reported. Ratios are against case (a), `frictionless validate` of the same data on
the same machine in the same run, because absolute times on shared machines vary.
Two parts. The plan-sized bench and one progress submission of 5 000 rows (a body's
report is far smaller; the submission row limit is 10 000). Then the scale bench: a
synthetic progress table (``bench.synthetic``: the ``suivi`` schema, fixed seed, French
text) of each size in ``BENCH_SIZES``, valid and with 1 % invalid rows, on which the same
files go through (a) ``frictionless validate`` of the package (the table and the two it
refers to), (b) ``ogp check`` of the same package, (c) the whole pipeline, ``ogp run``
on a catalogue of the plan and that table (gather, validate, the three formats, metadata,
catalogue and pages) against a Prefect server started here, as in production, and (c')
the same run again, unchanged. Each row gives rows/s, MB/s of CSV and peak memory.
Between the two, the bodies' door (``door_bench``): ``ogp dropoff serve`` started, then 51
uploads of a 60-row template, timed as a body waits for its answer (``python -m bench.run
door`` runs that part alone).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
# frictionless takes about a minute per million rows: above this size (a) is not run.
FRICTIONLESS_MAX_ROWS = int(os.environ.get("BENCH_FRICTIONLESS_MAX_ROWS", "1000000"))
BIN = Path(sys.executable).parent
SUBMISSION_ROWS = int(os.environ.get("BENCH_SUBMISSION_ROWS", "5000"))
SUBMISSION = "soumission.csv"


def case_publish_plan(out: str) -> int:
    """(b) gather + build + write three formats + frictionless package validation + commit."""
    from pipelines.build.tables import build_tables
    from pipelines.core.config import Settings, load_dataset
    from pipelines.core.schema import load_schema
    from pipelines.gather.plan.records import gather_plan_records
    from pipelines.validate.package import validate_datapackage
    from publish.release import release_dataset

    settings = Settings()
    config = load_dataset(settings.datasets_dir / "plan-action-pgo-2021-2023")
    schemas = {t: load_schema(settings.schemas_dir, t) for t in config.tables}
    tables = build_tables(gather_plan_records(config), schemas)
    release_dataset(Path(out), config, schemas, tables, validate_datapackage)
    return sum(t.num_rows for t in tables.values())


def case_validate_plan(out: str) -> int:
    """(a) frictionless validate of the published plan package, alone."""
    import frictionless

    descriptor = Path(out) / "datasets" / "plan-action-pgo-2021-2023" / "latest" / "datapackage.json"
    report = frictionless.validate(str(descriptor), limit_errors=10**9)
    assert report.valid
    return sum(t.stats.get("rows", 0) or 0 for t in report.tasks)


def write_submission(out: str) -> None:
    """A valid synthetic progress submission: every action, one report date per row."""
    import csv
    import datetime as dt
    import random

    from pipelines.core.config import Settings, load_dataset
    from pipelines.gather.plan.records import gather_plan_records

    settings = Settings()
    actions = [
        a["id_action"]
        for a in gather_plan_records(load_dataset(settings.datasets_dir / "plan-action-pgo-2021-2023"))[
            "actions"
        ]
    ]
    rng = random.Random(7)
    start = dt.date(2022, 1, 1)
    with open(Path(out) / SUBMISSION, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id_action", "date_rapport", "statut", "avancement_pct", "commentaire", "preuve_url"]
        )
        for i in range(SUBMISSION_ROWS):
            status = rng.choice(["limite", "substantiel", "non_evalue", "abandonne"])
            writer.writerow(
                [
                    actions[i % len(actions)],
                    (start + dt.timedelta(days=i // len(actions))).isoformat(),
                    status,
                    rng.randint(1, 99) if status != "non_evalue" else "",
                    "Réunion « d'étape », compte rendu publié, suite prévue",
                    "https://www.modernisation.gouv.fr/rapport",
                ]
            )


def case_validate_submission(out: str) -> int:
    """(b'') one submission through read, normalise, frictionless and great-expectations."""
    import dataclasses
    import datetime as dt

    from pipelines.core.config import Settings, load_dataset
    from pipelines.core.schema import load_schema
    from pipelines.gather.submissions.plan_facts import plan_facts
    from pipelines.state.received import Received
    from pipelines.validate.submission import validate_submission

    settings = Settings()
    config = load_dataset(settings.datasets_dir / "suivi-plan-action-pgo-2021-2023")
    content = (Path(out) / SUBMISSION).read_bytes()
    # The submission reports on every action: it comes from a body declared a reporter for
    # all of them (a file without a body, or about others' actions, is rejected).
    plan = plan_facts(config)
    plan = dataclasses.replace(plan, reporters={"ditp": frozenset(plan.action_ids)})
    validated = validate_submission(
        Received(SUBMISSION, content, "bench", "t", "ditp"),
        load_schema(settings.schemas_dir, "soumission"),
        plan,
        today=dt.date(2026, 11, 28),
    )
    if not validated.report.accepted:
        raise SystemExit(validated.report.verdict)
    return len(validated.rows)


def case_frictionless_submission(out: str) -> int:
    """(a'') frictionless validate of the same submission against its schema alone."""
    import frictionless

    from pipelines.core.config import Settings
    from pipelines.core.schema import load_schema
    from pipelines.validate.package import standalone_schema

    schema = load_schema(Settings().schemas_dir, "soumission")
    report = frictionless.Resource(SUBMISSION, basepath=out, schema=standalone_schema(schema)).validate(
        limit_errors=10**9
    )
    if not report.valid:
        raise SystemExit(str(report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]))
    return int(report.tasks[0].stats["rows"])


CASES = {
    f.__name__: f
    for f in (case_publish_plan, case_validate_plan, case_validate_submission, case_frictionless_submission)
}


def _measure(case: str, out: str) -> tuple[float, int, float]:
    """(seconds, rows, peak MiB) of one run of ``case`` in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.run", case, out], cwd=ROOT, stdout=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    assert process.stdout is not None
    rows = int(process.stdout.read().decode().strip() or 0)
    if status != 0:
        raise SystemExit(f"{case} failed")
    return elapsed, rows, usage.ru_maxrss / 1024


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit status) of one whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def _median(runs: list[tuple[float, float, int]]) -> dict[str, float]:
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "peak_mib": max(r[1] for r in runs),
        "status": runs[0][2],
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prefect_server(home: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """A Prefect server of the bench's own, as a scheduled deployment would have."""
    import urllib.request

    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                return server, {
                    k: env[k] for k in ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED")
                }
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("le serveur Prefect du banc d'essai ne répond pas")


def scale_bench(work: Path, prefect_env: dict[str, str]) -> list[dict[str, Any]]:
    """(a), (b), (c), (c') on every size and variant; one result row per case."""
    from bench.synthetic import (
        DATASET_SLUG,
        reference_keys,
        write_datasets_dir,
        write_package,
    )

    keys = reference_keys()
    results: list[dict[str, Any]] = []
    for size in SIZES:
        for invalid in (False, True):
            variant = "1 % invalides" if invalid else "valide"
            folder = work / f"{size}-{'invalide' if invalid else 'valide'}"
            datasets = write_datasets_dir(folder / "datasets", size, invalid=invalid, keys=keys)
            csv_file = datasets / DATASET_SLUG / "suivi.csv"
            package = write_package(folder / "paquet", 0, keys=keys)
            (package.parent / "suivi.csv").unlink()
            os.link(csv_file, package.parent / "suivi.csv")  # the very same file for all cases
            megabytes = csv_file.stat().st_size / 1e6
            cases: dict[str, list[tuple[float, float, int]]] = {}
            if size <= FRICTIONLESS_MAX_ROWS:
                cases["(a) frictionless validate"] = [
                    _run(
                        [
                            str(BIN / "frictionless"),
                            "validate",
                            "datapackage.json",
                            "--limit-errors",
                            "1000000000",
                        ],
                        package.parent,
                    )
                    for _ in range(RUNS)
                ]
            cases["(b) ogp check"] = [
                _run([str(BIN / "ogp"), "check", "datapackage.json"], package.parent) for _ in range(RUNS)
            ]
            runs, reruns = [], []
            for attempt in range(RUNS):
                out, state = folder / f"site-{attempt}", folder / f"var-{attempt}"
                command = [
                    str(BIN / "ogp"),
                    "run",
                    "--datasets-dir",
                    str(datasets),
                    "--out",
                    str(out),
                    "--state-dir",
                    str(state),
                ]
                runs.append(_run(command, ROOT, prefect_env))
                reruns.append(_run(command, ROOT, prefect_env))
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(state, ignore_errors=True)
            cases["(c) ogp run, pipeline entier"] = runs
            cases["(c') ogp run, entrées inchangées"] = reruns
            baseline = (
                statistics.median(r[0] for r in cases["(a) frictionless validate"])
                if "(a) frictionless validate" in cases
                else None
            )
            for name, measured in cases.items():
                row = {"taille": size, "variante": variant, "cas": name, "mo": megabytes, **_median(measured)}
                row["rows_per_s"] = size / row["seconds"]
                row["mb_per_s"] = megabytes / row["seconds"]
                row["speedup_vs_a"] = baseline / row["seconds"] if baseline else None
                row["peak_vs_csv"] = row["peak_mib"] * 2**20 / 1e6 / megabytes
                results.append(row)
            shutil.rmtree(folder)
    return results


DOOR_UPLOADS = int(os.environ.get("BENCH_DOOR_UPLOADS", "50"))
DOOR_ROWS = 60  # a template-sized report


def door_bench() -> dict[str, float]:
    """The bodies' door as a body meets it: ``ogp dropoff serve`` started (seconds until it
    answers, warm-up included), then the first upload (cold) and ``DOOR_UPLOADS`` more of
    distinct 60-row templates, each timed from the POST to the answer page (seconds)."""
    import datetime as dt
    import io

    from openpyxl import load_workbook

    from tests.integration.door import Body, Campaign, DoorProcess, fill_template

    with tempfile.TemporaryDirectory() as folder:
        campaign = Campaign(Path(folder), {"OGP_DROPOFF_UPLOAD_LIMIT": "10000 per minute"})
        token = campaign.grant("ditp")
        door = DoorProcess(campaign)
        try:
            body = Body(door.url, token)
            template = body.template()
            sheet = load_workbook(io.BytesIO(template))["Suivi"]
            actions = [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value]
            times, cpu = [], []
            for n in range(DOOR_UPLOADS + 1):
                reports = [
                    (
                        actions[i % len(actions)],
                        dt.date(2022, 1, 3) + dt.timedelta(days=20 * (i // len(actions)) + n % 15),
                        "Avancement substantiel",
                        40 + i // len(actions),
                        f"Dépôt {n}",
                        "https://www.modernisation.gouv.fr/preuve",
                    )
                    for i in range(DOOR_ROWS)
                ]
                content = fill_template(template, reports)
                csrf = body.csrf()
                started, used = time.perf_counter(), door.cpu_seconds()
                answer = body.upload(f"rapport-{n}.xlsx", content, csrf=csrf)
                times.append(time.perf_counter() - started)
                cpu.append(door.cpu_seconds() - used)
                if "ACCEPTÉ" not in answer.text:
                    raise SystemExit(f"dépôt {n} non accepté")
        finally:
            door.stop()
    warm = times[1:]
    return {
        "start_s": door.start_seconds,
        "first_s": times[0],
        "median_s": statistics.median(warm),
        "worst_s": max(warm),
        "cpu_median_s": statistics.median(cpu[1:]),
        "uploads": len(warm),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as plan_out, tempfile.TemporaryDirectory() as synth_out:
        write_submission(synth_out)
        for case, out in [
            ("case_publish_plan", plan_out),
            ("case_validate_plan", plan_out),
            ("case_validate_submission", synth_out),
            ("case_frictionless_submission", synth_out),
        ]:
            runs = [_measure(case, out) for _ in range(RUNS)]
            seconds = statistics.median(r[0] for r in runs)
            rows = runs[0][1]
            results[case] = {
                "seconds": seconds,
                "rows": rows,
                "rows_per_s": rows / seconds,
                "peak_mib": max(r[2] for r in runs),
            }
    print(f"{'case':28} {'rows':>9} {'median s':>9} {'rows/s':>10} {'peak MiB':>9}")
    for case, r in results.items():
        print(
            f"{case:28} {r['rows']:>9.0f} {r['seconds']:>9.2f} {r['rows_per_s']:>10.0f} {r['peak_mib']:>9.0f}"
        )
    plan = results["case_publish_plan"]["seconds"] / results["case_validate_plan"]["seconds"]
    print(f"ratio whole plan publication / frictionless validate alone: {plan:.2f}")
    submission = (
        results["case_validate_submission"]["seconds"] / results["case_frictionless_submission"]["seconds"]
    )
    print(
        f"ratio submission validation (read, normalise, frictionless, great-expectations) / "
        f"frictionless validate alone, {SUBMISSION_ROWS} rows: {submission:.2f}"
    )

    door = door_bench()
    print(
        f"bodies' door, {DOOR_ROWS}-row template (xlsx), POST to answer page: start-up {door['start_s']:.1f} s, "
        f"first upload {door['first_s']:.2f} s, then {door['uploads']:.0f} uploads: "
        f"median {door['median_s']:.2f} s, worst {door['worst_s']:.2f} s; the server's CPU per upload "
        f"(median) {door['cpu_median_s']:.2f} s; load average {door['load']:.1f}"
    )

    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as home:
        server, prefect_env = _prefect_server(Path(home))
        try:
            scale = scale_bench(Path(work), prefect_env)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print()
    print(
        f"{'rows':>9} {'variant':14} {'case':34} {'MB':>6} {'median s':>9} {'rows/s':>10} "
        f"{'MB/s':>7} {'peak MiB':>9} {'peak/CSV':>8} {'speed-up vs (a)':>15} exit"
    )
    for r in scale:
        speedup = f"{r['speedup_vs_a']:.1f}x" if r["speedup_vs_a"] else "-"
        print(
            f"{r['taille']:>9} {r['variante']:14} {r['cas']:34} {r['mo']:>6.0f} {r['seconds']:>9.2f} "
            f"{r['rows_per_s']:>10.0f} {r['mb_per_s']:>7.1f} {r['peak_mib']:>9.0f} "
            f"{r['peak_vs_csv']:>8.2f} {speedup:>15} {r['status']:>4}"
        )
    print(json.dumps({"small": results, "door": door, "scale": scale}))


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(CASES[sys.argv[1]](sys.argv[2]))
    elif sys.argv[1:] == ["door"]:  # the door's part alone: python -m bench.run door
        print(json.dumps(door_bench()))
    else:
        main()
