"""`make bench`: the four measures of issue 30, each a ratio to a baseline timed in the same run.

Absolute times on these shared machines vary with their load; a ratio of two processes
timed one after the other does much less. Each case is a fresh process (its own peak RSS),
run ``BENCH_RUNS`` times (default 1), the median kept:

1. ``ogp run`` of the bundled catalogue, unchanged since the previous run, against the
   same run from scratch (and in seconds, against the goal of 1.5 s);
2. ``ogp run`` of a catalogue of the plan and a ``table_file`` table of ``BENCH_ROWS``
   synthetic progress rows (default 1 000 000; ``bench.synthetic``), from scratch, against
   ``frictionless validate`` of the same CSV (the table and the two it refers to);
3. the peak memory of that run at ``3 × BENCH_ROWS`` rows against ``BENCH_ROWS`` rows;
4. ``ogp validate`` of a body's 60-row xlsx (its template, filled), cold (a fresh process)
   against warm (the same file validated again by the process that has validated it once,
   as the door's server does).

``python -m bench.run`` gives the detailed tables (rows/s, MB/s, the door's uploads).
Nothing here talks to a Prefect server: ``ogp run`` runs locally, as a steward's does.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(os.environ.get("BENCH_RUNS", "1"))
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
VALIDATE_ROWS = 60


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one whole process, which must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} a échoué : {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def _ogp_run(
    datasets: Path, work: Path, env: dict[str, str], twice: bool = False
) -> list[tuple[float, float]]:
    """One ``ogp run`` from scratch into ``work`` (and, with ``twice``, the unchanged rerun)."""
    out, state = work / "site", work / "var"
    command = [str(BIN / "ogp"), "run", "--datasets-dir", str(datasets), "--out", str(out)]
    command += ["--state-dir", str(state)]
    measured = [_timed(command, ROOT, env)]
    if twice:
        measured.append(_timed(command, ROOT, env))
    subprocess.run(["rm", "-rf", str(out), str(state)], check=True)
    return measured


def noop_rerun(work: Path, env: dict[str, str]) -> tuple[float, float]:
    """(first run, unchanged rerun) of the bundled catalogue, medians in seconds."""
    runs = [_ogp_run(ROOT / "datasets", work / f"noop-{n}", env, twice=True) for n in range(RUNS)]
    return statistics.median(r[0][0] for r in runs), statistics.median(r[1][0] for r in runs)


def end_to_end(work: Path, env: dict[str, str]) -> dict[int, tuple[float, float]]:
    """``ogp run`` at ``ROWS`` and ``3 × ROWS`` rows, and frictionless at ``ROWS`` (key 0)."""
    from bench.synthetic import reference_keys, write_datasets_dir, write_package

    keys = reference_keys()
    results: dict[int, tuple[float, float]] = {}
    for size in (ROWS, 3 * ROWS):
        folder = work / f"rows-{size}"
        datasets = write_datasets_dir(folder / "datasets", size, keys=keys)
        if size == ROWS:
            package = write_package(folder / "paquet", 0, keys=keys)
            csv_file = datasets / "suivi-consolide-synthetique" / "suivi.csv"
            (package.parent / "suivi.csv").unlink()
            os.link(csv_file, package.parent / "suivi.csv")  # the very same file
            friction = [
                str(BIN / "frictionless"),
                "validate",
                "datapackage.json",
                "--limit-errors",
                "1000000000",
            ]
            results[0] = _median([_timed(friction, package.parent, env) for _ in range(RUNS)])
        results[size] = _median([_ogp_run(datasets, folder / f"run-{n}", env)[0] for n in range(RUNS)])
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    return results


def write_filled_template(path: Path) -> None:
    """A body's xlsx template (``ditp``), 60 valid report rows typed into it."""
    import datetime as dt

    from openpyxl import load_workbook

    from tests.integration.door import Report, fill_template

    template = path.with_name("modele.xlsx")
    subprocess.run(
        [str(BIN / "ogp"), "template", "--org", "ditp", "--out", str(template)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    content = template.read_bytes()
    sheet = load_workbook(io.BytesIO(content))["Suivi"]
    actions = [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value]
    reports: list[Report] = [
        (
            str(actions[i % len(actions)]),
            dt.date(2022, 1, 3) + dt.timedelta(days=20 * (i // len(actions))),
            "Avancement substantiel",
            40 + i // len(actions),
            "Rapport du banc d'essai",
            "https://www.modernisation.gouv.fr/preuve",
        )
        for i in range(VALIDATE_ROWS)
    ]
    path.write_bytes(fill_template(content, reports))


def warm_validate(path: str) -> None:
    """Validates ``path`` twice in this process; prints the second time (seconds)."""
    from pipelines.cli.campaign import progress_context

    validator = progress_context(None)
    for _ in range(2):
        start = time.perf_counter()
        report = validator.validate_file(Path(path), None)
        elapsed = time.perf_counter() - start
    assert report.accepted, "le modèle rempli du banc d'essai devrait être accepté"
    print(f"{elapsed:.6f}")


def validate_cold_warm(work: Path, env: dict[str, str]) -> tuple[float, float]:
    """(cold, warm) seconds of ``ogp validate`` of one 60-row xlsx."""
    path = work / "rapport.xlsx"
    write_filled_template(path)
    cold = _median([_timed([str(BIN / "ogp"), "validate", str(path)], ROOT, env) for _ in range(RUNS)])[0]
    warm = []
    for _ in range(RUNS):
        answer = subprocess.run(
            [sys.executable, "-m", "bench.headline", "warm-validate", str(path)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        warm.append(float(answer.stdout.strip().splitlines()[-1]))
    return cold, statistics.median(warm)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as home:
        work = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env["PREFECT_HOME"] = home  # no profile, no server: ogp run runs locally
        first, rerun = noop_rerun(work, env)
        print(
            f"1. ogp run, unchanged catalogue: {rerun:.2f} s, {rerun / first:.2f} x the first run "
            f"({first:.2f} s); goal 1.5 s"
        )
        cold, warm = validate_cold_warm(work, env)
        scale = end_to_end(work, env)
    friction, small, large = scale[0], scale[ROWS], scale[3 * ROWS]
    print(
        f"2. ogp run end to end, {ROWS} rows: {small[0]:.1f} s; frictionless validate of the same CSV "
        f"{friction[0]:.1f} s: {friction[0] / small[0]:.1f}x faster; goal 10x"
    )
    print(
        f"3. ogp run peak memory, {ROWS} -> {3 * ROWS} rows: {small[1]:.0f} -> {large[1]:.0f} MiB, "
        f"x{large[1] / small[1]:.2f}; goal x1.25 at most"
    )
    print(
        f"4. ogp validate, {VALIDATE_ROWS}-row xlsx: cold {cold:.2f} s, warm {warm:.3f} s, "
        f"cold/warm {cold / warm:.0f}x; goals 1.5 s and 0.3 s"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["warm-validate"]:
        warm_validate(sys.argv[2])
    else:
        main()
