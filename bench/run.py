"""`make bench`: rows per second and peak memory of the pipeline against frictionless alone.

Each case runs in a fresh process (so peak RSS is its own), several times; the median
time is reported. Ratios are against case (a), `frictionless validate` of the same data on
the same machine in the same run, because absolute times on shared machines vary.
This is the plan-sized bench, plus one progress submission of 5 000 rows (a body's report
is far smaller; the submission row limit is 10 000); the million-row progress bench comes
with the columnar validation work.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SYNTHETIC_ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
SUBMISSION_ROWS = int(os.environ.get("BENCH_SUBMISSION_ROWS", "5000"))
SUBMISSION = "soumission.csv"


def case_publish_plan(out: str) -> int:
    """(b) gather + build + write three formats + frictionless package validation + commit."""
    from pipelines.config import Settings, load_dataset
    from pipelines.gather.plan import gather_plan_records
    from pipelines.tables import build_tables, load_schema
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


def _synthetic_rows() -> list[dict]:
    import random

    rng = random.Random(42)
    words = ["Ministère", "données", "« ouverte »", "participation, citoyenne", "l'État", 'dit "flash"']
    return [
        {"id_action": f"E{i % 6 + 1}-A{i % 3 + 1}-{i % 99 + 1:02d}", "id_organisation": f"org-{i}",
         "ordre": rng.randint(1, 9), "libelle_document": " ".join(rng.choices(words, k=6))}
        for i in range(SYNTHETIC_ROWS)
    ]


def case_write_synthetic(out: str) -> int:
    """(b') build + write CSV, Parquet and JSON of a synthetic `responsables` table."""
    from pipelines.config import Settings
    from pipelines.tables import load_schema, to_arrow
    from publish.writers import WRITERS

    schema = load_schema(Settings().schemas_dir, "responsables")
    table = to_arrow(_synthetic_rows(), schema)
    for fmt, write in WRITERS.items():
        (Path(out) / f"responsables.{fmt}").write_bytes(write(table))
    return table.num_rows


def case_validate_synthetic(out: str) -> int:
    """(a') frictionless validate of the synthetic CSV against its schema (no foreign keys)."""
    import frictionless

    from pipelines.config import Settings
    from pipelines.tables import load_schema
    from pipelines.validate.package import standalone_schema

    schema = load_schema(Settings().schemas_dir, "responsables")
    resource = frictionless.Resource("responsables.csv", basepath=out, schema=standalone_schema(schema))
    report = resource.validate(limit_errors=10**9)
    if not report.valid:
        raise SystemExit(str(report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]))
    return int(report.tasks[0].stats["rows"])


def write_submission(out: str) -> None:
    """A valid synthetic progress submission: every action, one report date per row."""
    import csv
    import datetime as dt
    import random

    from pipelines.config import Settings, load_dataset
    from pipelines.gather.plan import gather_plan_records

    settings = Settings()
    actions = [a["id_action"] for a in gather_plan_records(
        load_dataset(settings.datasets_dir / "plan-action-pgo-2021-2023"))["actions"]]
    rng = random.Random(7)
    start = dt.date(2022, 1, 1)
    with open(Path(out) / SUBMISSION, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_action", "date_rapport", "statut", "avancement_pct", "commentaire", "preuve_url"])
        for i in range(SUBMISSION_ROWS):
            status = rng.choice(["limite", "substantiel", "non_evalue", "abandonne"])
            writer.writerow([actions[i % len(actions)], (start + dt.timedelta(days=i // len(actions))).isoformat(),
                             status, rng.randint(1, 99) if status != "non_evalue" else "",
                             "Réunion « d'étape », compte rendu publié, suite prévue",
                             "https://www.modernisation.gouv.fr/rapport"])


def case_validate_submission(out: str) -> int:
    """(b'') one submission through read, normalise, frictionless and great-expectations."""
    import datetime as dt

    from pipelines.config import Settings, load_dataset
    from pipelines.gather.progress import plan_facts
    from pipelines.tables import load_schema
    from pipelines.validate.submission import Received, validate_submission

    settings = Settings()
    config = load_dataset(settings.datasets_dir / "suivi-plan-action-pgo-2021-2023")
    content = (Path(out) / SUBMISSION).read_bytes()
    validated = validate_submission(Received(SUBMISSION, content, "bench", "t"),
                                    load_schema(settings.schemas_dir, "soumission"),
                                    plan_facts(config), today=dt.date(2026, 11, 28))
    if not validated.report.accepted:
        raise SystemExit(validated.report.verdict)
    return len(validated.rows)


def case_frictionless_submission(out: str) -> int:
    """(a'') frictionless validate of the same submission against its schema alone."""
    import frictionless

    from pipelines.config import Settings
    from pipelines.tables import load_schema
    from pipelines.validate.package import standalone_schema

    schema = load_schema(Settings().schemas_dir, "soumission")
    report = frictionless.Resource(SUBMISSION, basepath=out, schema=standalone_schema(schema)).validate(
        limit_errors=10**9)
    if not report.valid:
        raise SystemExit(str(report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]))
    return int(report.tasks[0].stats["rows"])


CASES = {f.__name__: f for f in (case_publish_plan, case_validate_plan, case_write_synthetic,
                                 case_validate_synthetic, case_validate_submission,
                                 case_frictionless_submission)}


def _measure(case: str, out: str) -> tuple[float, int, float]:
    """(seconds, rows, peak MiB) of one run of ``case`` in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bench.run", case, out], cwd=ROOT, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    assert process.stdout is not None
    rows = int(process.stdout.read().decode().strip() or 0)
    if status != 0:
        raise SystemExit(f"{case} failed")
    return elapsed, rows, usage.ru_maxrss / 1024


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as plan_out, tempfile.TemporaryDirectory() as synth_out:
        write_submission(synth_out)
        for case, out in [("case_publish_plan", plan_out), ("case_validate_plan", plan_out),
                          ("case_write_synthetic", synth_out), ("case_validate_synthetic", synth_out),
                          ("case_validate_submission", synth_out),
                          ("case_frictionless_submission", synth_out)]:
            runs = [_measure(case, out) for _ in range(RUNS)]
            seconds = statistics.median(r[0] for r in runs)
            rows = runs[0][1]
            results[case] = {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds,
                             "peak_mib": max(r[2] for r in runs)}
    print(f"{'case':28} {'rows':>9} {'median s':>9} {'rows/s':>10} {'peak MiB':>9}")
    for case, r in results.items():
        print(f"{case:28} {r['rows']:>9.0f} {r['seconds']:>9.2f} {r['rows_per_s']:>10.0f} {r['peak_mib']:>9.0f}")
    plan = results["case_publish_plan"]["seconds"] / results["case_validate_plan"]["seconds"]
    synth = results["case_write_synthetic"]["seconds"] / results["case_validate_synthetic"]["seconds"]
    print(f"ratio whole plan publication / frictionless validate alone: {plan:.2f}")
    print(f"ratio write 3 formats / frictionless validate, {SYNTHETIC_ROWS} rows: {synth:.2f}")
    submission = (results["case_validate_submission"]["seconds"]
                  / results["case_frictionless_submission"]["seconds"])
    print(f"ratio submission validation (read, normalise, frictionless, great-expectations) / "
          f"frictionless validate alone, {SUBMISSION_ROWS} rows: {submission:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(CASES[sys.argv[1]](sys.argv[2]))
    else:
        main()
