"""PostgreSQL LISTEN/NOTIFY for pins: a thread that hears which accounts' pins changed.

The PostgreSQL store announces every upgrade, rollback and delete on
:data:`CHANNEL`, in the transaction that makes it; a :class:`Listener` hears
them on a connection of its own and tells its callbacks (a
:class:`~datever.pins_async.PinCache` drops that account's pin).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

__all__ = ["CHANNEL", "Listener"]

CHANNEL = "datever_pins"
"""The channel on which upgrades, rollbacks and deletes name their account."""


class Listener:
    """A thread that LISTENs on :data:`CHANNEL` and tells its callbacks each account named.

    Whenever it (re)connects it tells them None: announcements may have been
    missed while it was not listening.
    """

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.callbacks: list[Callable[[str | None], None]] = []
        #: set while the listener holds a connection that LISTENs
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="datever-pins-listen",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True,
                                     connect_timeout=max(1, round(self.timeout))) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._tell(None)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.2):
                            self._tell(note.payload)
            except psycopg.Error:
                self.listening.clear()
                self._stop.wait(0.2)  # the database is away: try again shortly

    def _tell(self, account: str | None) -> None:
        for callback in list(self.callbacks):
            callback(account)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
