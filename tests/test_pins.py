"""Pin stores beyond the shared contract: the dated order, the SQLite file itself, and
what the PostgreSQL tests do on a machine without PostgreSQL.

The behaviour every store shares is in tests/test_pin_contract.py.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sqlite3
import subprocess
import sys
from contextlib import closing

import pendulum
import pytest

from datever.errors import DateverError
from datever.pins import Pin, PinError, PinEvent, dated_order
from datever.pins_sql import SCHEMA_VERSION, SQLitePinStore, schema_version

ROOT = pathlib.Path(__file__).resolve().parents[1]
T0 = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
T1 = T0.add(days=30)


def test_dated_order_puts_initial_before_dates_in_date_order() -> None:
    """v1 < 2019-01-01 < 2021-06-07; 1 equals v1 and the v prefix changes nothing."""
    names = ["2021-06-07", "v1", "v2019-01-01", "2020-12-31"]
    assert sorted(names, key=dated_order) == ["v1", "v2019-01-01", "2020-12-31", "2021-06-07"]
    assert dated_order("1") == dated_order("v1") < dated_order("2019-01-01")
    assert dated_order("v2021-06-07") == dated_order("2021-06-07")


@pytest.mark.parametrize("version", ["X", "latest!", "2021-6-7", "2021-02-30", "v", "v2"])
def test_dated_order_rejects_junk(version: str) -> None:
    """Anything but v1, 1 and (v)YYYY-MM-DD raises a PinError that lists the forms."""
    with pytest.raises(PinError, match="YYYY-MM-DD") as info:
        dated_order(version)
    assert isinstance(info.value, DateverError)


def test_pin_is_frozen() -> None:
    """A Pin cannot be changed in place."""
    pin = Pin("acct", "v1", T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pin.version = "2021-06-07"  # type: ignore[misc]


def test_sqlite_store_is_importable_from_datever_pins() -> None:
    """``datever.pins.SQLitePinStore`` is the store of ``datever.pins_sql``."""
    import datever.pins

    assert datever.pins.SQLitePinStore is SQLitePinStore
    with pytest.raises(AttributeError, match="NoSuchStore"):
        datever.pins.NoSuchStore  # noqa: B018


def count_rows(path: pathlib.Path) -> int:
    """Rows in the pin table, read through a separate connection."""
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM datever_pins").fetchone()[0])


def test_sqlite_pins_survive_close_and_reopen(tmp_path: pathlib.Path) -> None:
    """A pin written, upgraded and closed reads back equal from a new store on the file."""
    path = tmp_path / "pins.db"
    with SQLitePinStore(path) as store:
        store.pin_first("acct", "2019-01-01", now=T0)
        pin = store.upgrade("acct", "2021-06-07", now=T1.add(microseconds=123))
    with SQLitePinStore(path) as store:
        assert store.get("acct") == pin
        assert store.rollback("acct", now=T1.add(hours=1)).version == "2019-01-01"
        assert len(store.history("acct")) == 3
    assert count_rows(path) == 1


def test_sqlite_file_is_in_wal_mode(tmp_path: pathlib.Path) -> None:
    """The store switches its file to WAL journaling, which persists in the file."""
    path = tmp_path / "pins.db"
    with SQLitePinStore(path) as store:
        store.pin_first("acct", "v1")
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_closed_sqlite_store_cannot_be_used(tmp_path: pathlib.Path) -> None:
    """Leaving the with block closes the connection."""
    with SQLitePinStore(tmp_path / "pins.db") as store:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        store.get("acct")


def test_new_sqlite_file_gets_the_current_schema(tmp_path: pathlib.Path) -> None:
    """A new file is created at the current schema version, recorded in datever_schema."""
    path = tmp_path / "pins.db"
    SQLitePinStore(path).close()
    with closing(sqlite3.connect(path)) as db:
        assert schema_version(db) == SCHEMA_VERSION == 2


def write_schema_1(path: pathlib.Path) -> None:
    """A pin file as the first datever wrote it: the pins table alone, no history."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE datever_pins (account TEXT PRIMARY KEY, version TEXT NOT "
                   "NULL, pinned_at TEXT NOT NULL, previous TEXT, previous_at TEXT) "
                   "WITHOUT ROWID")
        db.execute("INSERT INTO datever_pins VALUES ('old', '2019-01-01', "
                   "'2024-01-01T12:00:00.000000+00:00', NULL, NULL)")
        db.execute("INSERT INTO datever_pins VALUES ('moved', '2021-06-07', "
                   "'2024-01-01T12:00:00.000000+00:00', '2019-01-01', "
                   "'2024-01-31T12:00:00.000000+00:00')")


def test_sqlite_file_of_schema_1_is_migrated(tmp_path: pathlib.Path) -> None:
    """A schema-1 file opens at schema 2: pins kept, history begun from what they record."""
    path = tmp_path / "pins.db"
    write_schema_1(path)
    with SQLitePinStore(path) as store:
        assert store.get("moved") == Pin("moved", "2021-06-07", T0, "2019-01-01", T1)
        assert store.history("old") == [PinEvent("2019-01-01", "pinned", T0)]
        assert store.history("moved") == [PinEvent("2019-01-01", "pinned", T0),
                                          PinEvent("2021-06-07", "upgraded", T1)]
        assert store.rollback("moved", now=T1.add(hours=1)).version == "2019-01-01"
    with closing(sqlite3.connect(path)) as db:
        assert schema_version(db) == 2
        assert db.execute("SELECT COUNT(*) FROM datever_schema").fetchone()[0] == 1


def test_sqlite_migration_runs_once(tmp_path: pathlib.Path) -> None:
    """Opening a migrated file again adds no second copy of the history."""
    path = tmp_path / "pins.db"
    write_schema_1(path)
    SQLitePinStore(path).close()
    with SQLitePinStore(path) as store:
        assert len(store.history("moved")) == 2


def test_sqlite_file_of_a_newer_schema_is_refused(tmp_path: pathlib.Path) -> None:
    """A file written by a newer datever is refused with a PinError naming the file."""
    path = tmp_path / "pins.db"
    SQLitePinStore(path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE datever_schema SET version = 99")
    with pytest.raises(PinError, match=r"pins\.db: .*schema version 99.*newer datever"):
        SQLitePinStore(path)


def run_pg_tests_without_initdb(ci: bool) -> subprocess.CompletedProcess[str]:
    """One PostgreSQL test run in a fresh pytest whose PATH has no initdb."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), "/usr/bin", "/bin"])
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--no-cov", "tests/test_pins_pg.py", "-k", "current_schema"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_postgres_tests_skip_and_say_why_without_initdb() -> None:
    """Outside CI, a machine without initdb skips the PostgreSQL tests, naming what lacks."""
    result = run_pg_tests_without_initdb(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SKIPPED" in result.stdout
    assert "PostgreSQL tests need initdb, pg_ctl" in result.stdout


def test_postgres_tests_fail_in_ci_without_initdb() -> None:
    """In CI the same missing initdb fails the PostgreSQL tests instead of skipping them."""
    result = run_pg_tests_without_initdb(ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PostgreSQL tests need initdb, pg_ctl" in result.stdout
