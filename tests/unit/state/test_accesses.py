"""Accesses of the door: tokens stored as hashes only, links that stop working when their
access expires or is revoked, new links minted under a body's access."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.core.errors import ConfigError
from pipelines.state.accesses import (
    Access,
    AccessKind,
    AccessStore,
    TokenPurpose,
    parse_expiry,
    token_hash,
)
from pipelines.state.layout import ArchiveLayout

TODAY = dt.date(2026, 3, 10)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store(tmp_path: Path) -> AccessStore:
    return AccessStore(ArchiveLayout(tmp_path), clock=Clock(), today=lambda: TODAY)


def test_a_granted_link_is_stored_as_its_hash_only_and_opens_its_access(store: AccessStore) -> None:
    minted = store.grant("ditp")
    assert len(minted.token) >= 43  # 32 random bytes, URL-safe: 256 bits
    text = store.layout.accesses.read_text(encoding="utf-8")
    assert minted.token not in text
    assert token_hash(minted.token) in text
    assert store.open(minted.token) == minted.access
    assert store.open(minted.token[:-1] + ("A" if minted.token[-1] != "A" else "B")) is None
    assert store.open("") is None
    assert minted.access.id in text and len(minted.access.id) == 8


def test_a_second_grant_mints_a_link_under_the_bodys_access_and_revoking_ends_every_link(
    store: AccessStore,
) -> None:
    first = store.grant("ditp")
    second = store.grant("ditp", expires="2026-04-30")
    reminder = store.mint(first.access.id, TokenPurpose.REMINDER)
    assert second.renewed and second.access.id == first.access.id
    assert [t.purpose for t in reminder.access.tokens] == [
        TokenPurpose.GRANT,
        TokenPurpose.GRANT,
        TokenPurpose.REMINDER,
    ]
    assert reminder.access.expires == "2026-04-30"
    assert all(store.open(m.token) is not None for m in (first, second, reminder))
    other = store.grant("dinum")
    assert [a.id for a in store.revoke("ditp")] == [first.access.id]
    assert all(store.open(m.token) is None for m in (first, second, reminder))
    assert store.open(other.token) is not None
    with pytest.raises(ConfigError):
        store.revoke("ditp")  # nothing active left
    with pytest.raises(ConfigError):
        store.mint(first.access.id, TokenPurpose.RECEIPT)
    third = store.grant("ditp")
    assert not third.renewed and third.access.id != first.access.id
    assert store.revoke(third.access.id)[0].revoked_at is not None


def test_an_expired_access_opens_nothing_from_the_day_after_its_last_day(tmp_path: Path) -> None:
    days = [dt.date(2026, 3, 31)]
    store = AccessStore(ArchiveLayout(tmp_path), clock=Clock(), today=lambda: days[0])
    minted = store.grant("ditp", expires="2026-03-31")
    assert store.open(minted.token) is not None
    days[0] = dt.date(2026, 4, 1)
    assert store.open(minted.token) is None
    assert store.get(minted.access.id).state(days[0]) == "expiree"


def test_expiry_dates_are_checked() -> None:
    assert parse_expiry("2026-03-10", TODAY) == "2026-03-10"
    assert parse_expiry(None, TODAY) is None
    for wrong in ("2026-03-09", "31/03/2026", "demain"):
        with pytest.raises(ConfigError):
            parse_expiry(wrong, TODAY)


def test_a_stewards_access_names_no_body(store: AccessStore) -> None:
    minted = store.grant(None, kind=AccessKind.STEWARD, label="équipe PGO")
    assert store.open(minted.token).kind is AccessKind.STEWARD
    assert minted.access.who == "pilotage (équipe PGO)"
    with pytest.raises(ValueError):
        store.grant(None)


def test_last_use_is_written_at_most_once_a_minute(tmp_path: Path) -> None:
    clock = Clock()
    store = AccessStore(ArchiveLayout(tmp_path), clock=clock, today=lambda: TODAY)
    access = store.grant("ditp").access
    store.touch(access.id)
    first = store.get(access.id).last_used_at
    clock.now += dt.timedelta(seconds=30)
    store.touch(access.id)
    assert store.get(access.id).last_used_at == first
    clock.now += dt.timedelta(seconds=31)
    store.touch(access.id)
    assert store.get(access.id).last_used_at == "2026-03-10T09:01:01Z"


def test_a_change_made_by_another_process_is_seen_and_records_round_trip(tmp_path: Path) -> None:
    door = AccessStore(ArchiveLayout(tmp_path), clock=Clock(), today=lambda: TODAY)
    command = AccessStore(ArchiveLayout(tmp_path), clock=Clock(), today=lambda: TODAY)
    assert door.all() == []
    minted = command.grant("ditp")
    assert door.open(minted.token) is not None
    command.revoke("ditp")
    assert door.open(minted.token) is None
    document = json.loads((tmp_path / "acces.json").read_text(encoding="utf-8"))
    for record in document["acces"]:
        assert Access.from_json(record).to_json() == record


def test_an_unreadable_accesses_file_is_a_french_error(tmp_path: Path) -> None:
    (tmp_path / "acces.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError):
        AccessStore(ArchiveLayout(tmp_path)).all()
