"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl on a free loopback port.

``postgres_url`` (session-scoped) starts one cluster per test run, trusting
127.0.0.1, in a temporary directory, and removes it afterwards. PostgreSQL
refuses to run as root: as root the cluster is run by the ``postgres`` user.
Without ``initdb`` (and outside CI) the tests that need it are skipped with a
message naming what is missing; in CI, or with ``initdb`` there, a missing
piece fails them instead.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 60
_names = itertools.count()


def missing() -> list[str]:
    """What the cluster needs and this machine lacks (empty: nothing)."""
    lacking = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        lacking.append("psycopg and psycopg-pool (pip install -e '.[dev]')")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            lacking.append("runuser (to run PostgreSQL as the postgres user)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            lacking.append("a 'postgres' user (PostgreSQL refuses to run as root)")
    return lacking


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """A PostgreSQL cluster in a temporary directory, started on a free loopback port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="datever-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        try:
            subprocess.run([*self._as, *command], check=True, capture_output=True, text=True,
                           timeout=START_TIMEOUT, cwd=self.root)
        except subprocess.CalledProcessError as exc:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed ({exc.returncode}): {exc.stderr}"
                               f"{exc.stdout}\n{log}") from exc
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{command[0]} took more than {START_TIMEOUT} s") from exc

    def start(self) -> None:
        """initdb, then pg_ctl start; waits until the server accepts connections."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        self.resume()

    def resume(self) -> None:
        """pg_ctl start on the cluster's data (after :meth:`pause`); waits until it accepts
        connections."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=300")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(START_TIMEOUT), "-o", options, "start")
        self.running = True

    def pause(self) -> None:
        """pg_ctl stop (fast: connections are cut), keeping the data for :meth:`resume`."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def stop(self) -> None:
        """Stop the server (at once) and remove its directory; again: nothing."""
        if self.running:
            self.running = False
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            finally:
                shutil.rmtree(self.root, ignore_errors=True)
        elif self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)


_cluster: Cluster | None = None


def cluster() -> Cluster:
    """The one cluster of this test run, started on first use (skipped or failed without
    the tools it needs)."""
    global _cluster
    if _cluster is None:
        lacking = missing()
        if lacking:
            message = "PostgreSQL tests need " + ", ".join(lacking)
            if os.environ.get("CI") or shutil.which("initdb"):
                pytest.fail(message)
            pytest.skip(message)
        started = Cluster()
        atexit.register(started.stop)  # should the session end before its teardown
        try:
            started.start()
        except BaseException:
            started.stop()
            raise
        _cluster = started
    return _cluster


@pytest.fixture(scope="session", name="postgres_url")
def postgres_fixture() -> Iterator[str]:
    """The URL of the ``postgres`` database of a throwaway cluster (trust auth)."""
    yield cluster().url
    if _cluster is not None:
        _cluster.stop()


def fresh_database(url: str) -> str:
    """A new empty database on the cluster of ``url``; its URL."""
    import psycopg
    from psycopg import sql

    name = f"datever_{os.getpid()}_{next(_names)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.rsplit("/", 1)[0] + "/" + name
