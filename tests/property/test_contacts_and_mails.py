"""The contacts reader and the journal of mails, held by hypothesis: any bytes give contacts
or a list of problems with their lines, never another exception; contacts written as a
spreadsheet saves them read back the same (with either delimiter and encoding); every mail
record written reads back equal."""

from __future__ import annotations

import csv
import io

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipelines.state.contacts import Contact, ContactsInvalid, parse_contacts
from pipelines.state.mails import MailKind, MailOutcome, MailPlanned, Outcome, mail_entry_from_json

BODIES = ["ditp", "dinum", "meae"]


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=400)
    | st.text(max_size=200).map(lambda t: ("id_organisation;nom;courriel\n" + t).encode())
)
def test_any_bytes_give_contacts_or_problems_with_lines(content: bytes) -> None:
    try:
        contacts = parse_contacts(content, BODIES)
    except ContactsInvalid as exc:
        assert exc.problems and all(isinstance(line, int) and line >= 0 for line, _ in exc.problems)
        return
    assert all(c.organisation in BODIES and "@" in c.email for c in contacts)


names = st.text(
    alphabet=st.characters(codec="cp1252", exclude_characters="\r\n\x00", exclude_categories=("Cc", "Cs")),
    max_size=20,
).map(str.strip)
locals_ = st.from_regex(r"[a-z][a-z0-9._-]{0,10}[a-z0-9]", fullmatch=True).filter(lambda s: ".." not in s)
domains = st.sampled_from(["exemple.fr", "ditp.exemple.fr", "diplomatie.gouv.fr", "exémple.fr"])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(BODIES), names, locals_, domains),
        max_size=8,
        unique_by=lambda c: (c[0], c[2], c[3]),
    ),
    st.sampled_from([";", ","]),
    st.sampled_from(["utf-8-sig", "utf-8", "cp1252"]),
)
def test_contacts_written_as_a_spreadsheet_saves_them_read_back_the_same(
    rows: list[tuple[str, str, str, str]], delimiter: str, encoding: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["id_organisation", "nom", "courriel"])
    for body, name, local, domain in rows:
        writer.writerow([body, name, f"{local}@{domain}"])
    content = buffer.getvalue().encode(encoding)
    if encoding == "cp1252":
        # Windows-1252 bytes that are valid UTF-8 too (« à\xa0¡ » is E0 A0 A1, « ࠡ » in
        # UTF-8) cannot be told apart: they are read as UTF-8, as any reader would.
        try:
            assume(content.decode("utf-8") == buffer.getvalue())
        except UnicodeDecodeError:
            pass
    read = parse_contacts(content, BODIES)
    assert read == [Contact(b, f"{lo}@{d}", n) for b, n, lo, d in rows]


ids = st.from_regex(r"c-[0-9a-f]{8}", fullmatch=True)


@given(
    st.builds(
        MailPlanned,
        n=st.integers(1, 10**6),
        key=st.text(min_size=1, max_size=30),
        kind=st.sampled_from(MailKind),
        organisation=st.sampled_from(BODIES),
        subject=st.text(max_size=60),
        date=st.just("2026-12-04T10:00:00Z"),
        message_id=st.just("<1.ogp@exemple.gouv.fr>"),
        contacts=st.tuples(ids, ids),
    )
    | st.builds(
        MailOutcome,
        n=st.integers(1, 10**6),
        planned=st.integers(1, 10**6),
        outcome=st.sampled_from(Outcome),
        date=st.just("2026-12-04T10:00:01Z"),
        accepted=st.tuples(ids),
        refused=st.dictionaries(ids, st.text(max_size=30), max_size=2),
        pending=st.tuples(ids),
        uncertain=st.tuples(),
        detail=st.text(max_size=30),
    )
)
def test_every_mail_record_reads_back_equal(entry: MailPlanned | MailOutcome) -> None:
    import json

    assert mail_entry_from_json(json.loads(json.dumps(entry.to_json()))) == entry
