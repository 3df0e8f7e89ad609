"""Whatever bytes arrive, reading a submission gives a verdict and findings, never an exception."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url"

cells = st.one_of(
    st.sampled_from(
        [
            "E1-A1-01",
            "E9-A9-99",
            "31/12/2022",
            "2022-12-31",
            "Complet",
            "non commencé",
            "50,5",
            "100 %",
            "=1+1",
            "https://x.fr",
            "",
            '"',
            "\x00",
            "é",
            ";",
            ",",
        ]
    ),
    st.text(max_size=12),
)
rows = st.lists(st.lists(cells, max_size=8), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows,
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]),
)
def test_any_table_gives_a_report(
    check: Callable, rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    text = "\n".join([HEADER.replace(",", delimiter), *(delimiter.join(r) for r in rows)])
    validated = check(text.encode(encoding, errors="replace"), name="rapport.csv")
    assert validated.report.verdict
    # Accepted means rows to publish; rejected means none of them.
    assert bool(validated.rows) == validated.report.accepted
    for finding in validated.report.findings:
        assert finding.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a"]))
def test_any_bytes_give_a_report(check: Callable, content: bytes, name: str) -> None:
    validated = check(content, name=name)
    assert validated.report.verdict
    if not validated.report.accepted:
        assert validated.rows == []


TARGET_HEADER = "id_cible,date_rapport,valeur_atteinte,commentaire,preuve_url"
target_cells = st.one_of(
    st.sampled_from(
        [
            "E6-A1-01-C1",
            "E6-A1-01-C2",
            "E3-A1-01-C1",
            "E9-A9-99-C9",
            "30/06/2022",
            "2022-06-30",
            "4 000",
            "12,5",
            "-3",
            "1",
            "2",
            "1e400",
            "inf",
            "nan",
            "=A1",
            "",
            '"',
            "é",
        ]
    ),
    st.text(max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(target_cells, max_size=6), max_size=6), delimiter=st.sampled_from([",", ";"]))
def test_any_table_of_targets_gives_a_report(check: Callable, rows: list[list[str]], delimiter: str) -> None:
    text = "\n".join([TARGET_HEADER.replace(",", delimiter), *(delimiter.join(r) for r in rows)])
    validated = check(text.encode("utf-8"), name="cibles.csv", org="meae")
    assert validated.report.verdict
    # A targets file has no progress rows; accepted means values to publish, rejected none.
    assert validated.rows == []
    assert bool(validated.target_rows) == validated.report.accepted
    for row in validated.target_rows:
        assert 0 <= float(row["valeur_atteinte"]) < float("inf")
