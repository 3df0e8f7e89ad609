"""Whatever bytes arrive, reading a submission gives a verdict and findings, never an exception."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url"

cells = st.one_of(
    st.sampled_from(["E1-A1-01", "E9-A9-99", "31/12/2022", "2022-12-31", "Complet", "non commencé",
                     "50,5", "100 %", "=1+1", "https://x.fr", "", '"', "\x00", "é", ";", ","]),
    st.text(max_size=12),
)
rows = st.lists(st.lists(cells, max_size=8), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, delimiter=st.sampled_from([",", ";", "\t"]), encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_any_table_gives_a_report(check: Callable, rows: list[list[str]], delimiter: str, encoding: str) -> None:
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
