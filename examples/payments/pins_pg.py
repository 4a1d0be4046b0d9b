"""Version pins in PostgreSQL, for the service run as several processes (``--pins URL``).

Imported only when the pins are a ``postgresql://`` URL, so the service
needs psycopg only then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from datever.pins import Pin
from datever.pins_pg import PostgresPinStore
from examples.payments.storage import Clocked


class ClockedPostgresPins(Clocked, PostgresPinStore):
    """The PostgreSQL store at ``url``, timed by ``clock`` unless a call says ``now``
    (see :class:`~examples.payments.storage.Clocked`), awaited calls too."""

    def __init__(self, url: str, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(url)
        self.clock = clock

    async def apin_first(self, account: str, version: str, *,
                         now: dt.datetime | None = None) -> Pin:
        """:meth:`pin_first`, awaited (the middleware's first pin of an account)."""
        return await super().apin_first(account, version, now=now or self.clock())

    async def aupgrade(self, account: str, version: str, *,
                       now: dt.datetime | None = None) -> Pin:
        """:meth:`upgrade`, awaited."""
        return await super().aupgrade(account, version, now=now or self.clock())

    async def arollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """:meth:`rollback`, awaited."""
        return await super().arollback(account, now=now or self.clock())
