"""Pin lookups that never block an event loop, and a per-process cache of pins.

:class:`AsyncPinStore` is the async side of a pin store (``aget``,
``apin_first``...). The PostgreSQL store speaks it natively;
:class:`ThreadedPinStore` gives it to any sync store (SQLite, memory) by
running each call on a worker thread. :class:`PinCache` keeps pins in
memory for a bounded ``ttl``, so that the hot path of a request seldom
reaches the database at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Protocol, TypeVar, runtime_checkable

from datever.pins import Pin, PinEvent, PinStore

__all__ = ["AnyPinStore", "AsyncPinStore", "PinCache", "ThreadedPinStore", "as_async"]

T = TypeVar("T")


@runtime_checkable
class AsyncPinStore(Protocol):
    """The async side of a pin store: the methods of :class:`~datever.pins.PinStore`,
    prefixed with ``a`` and awaited."""

    async def aget(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""

    async def apin_first(self, account: str, version: str, *,
                         now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""

    async def aupgrade(self, account: str, version: str, *,
                       now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""

    async def arollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""

    async def adelete(self, account: str) -> None:
        """Forget the account's pin and its history."""

    async def ahistory(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last."""


AnyPinStore = PinStore | AsyncPinStore
"""A sync store, an async store, or (like the PostgreSQL store) both."""


def is_async(store: object) -> bool:
    """True when ``store`` has the async methods (``aget``...)."""
    return callable(getattr(store, "aget", None))


def as_async(store: AnyPinStore) -> AsyncPinStore:
    """``store`` itself when it is async, else a :class:`ThreadedPinStore` around it."""
    if is_async(store):
        return store  # type: ignore[return-value]  # checked by is_async
    return ThreadedPinStore(store)  # type: ignore[arg-type]  # a sync store


class ThreadedPinStore:
    """A sync ``store`` (SQLite, memory) with the async methods too, run on worker threads.

    The calls run on a pool of ``workers`` threads of its own, so a slow or
    locked database holds up those threads, never the event loop nor the
    loop's default executor. The sync methods call the store directly.
    """

    def __init__(self, store: PinStore, *, workers: int = 4) -> None:
        self.store = store
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None

    async def _run(self, call: Callable[[], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="datever-pins")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        return self.store.get(account)

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        return self.store.pin_first(account, version, now=now)

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        return self.store.upgrade(account, version, now=now)

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        return self.store.rollback(account, now=now)

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history."""
        self.store.delete(account)

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last."""
        return self.store.history(account)

    async def aget(self, account: str) -> Pin | None:
        """:meth:`get` on a worker thread."""
        return await self._run(partial(self.store.get, account))

    async def apin_first(self, account: str, version: str, *,
                         now: dt.datetime | None = None) -> Pin:
        """:meth:`pin_first` on a worker thread."""
        return await self._run(partial(self.store.pin_first, account, version, now=now))

    async def aupgrade(self, account: str, version: str, *,
                       now: dt.datetime | None = None) -> Pin:
        """:meth:`upgrade` on a worker thread."""
        return await self._run(partial(self.store.upgrade, account, version, now=now))

    async def arollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """:meth:`rollback` on a worker thread."""
        return await self._run(partial(self.store.rollback, account, now=now))

    async def adelete(self, account: str) -> None:
        """:meth:`delete` on a worker thread."""
        await self._run(partial(self.store.delete, account))

    async def ahistory(self, account: str) -> list[PinEvent]:
        """:meth:`history` on a worker thread."""
        return await self._run(partial(self.store.history, account))

    def close(self) -> None:
        """Stop the worker threads (the store itself stays open)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __repr__(self) -> str:
        return f"<ThreadedPinStore {self.store!r}>"


class PinCache:
    """A ``store``'s pins kept in this process for ``ttl`` seconds after each lookup.

    Sync and async both: the sync methods need a sync store, the async ones
    take the store's own (or run its sync ones on worker threads). A pin read
    or written through the cache is served from memory until ``ttl`` seconds
    (by ``clock``, default :func:`time.monotonic`) have passed; so an upgrade
    or a rollback made through another process, or another cache, is seen
    here at the latest ``ttl`` seconds later, and at once through this one.
    With a store that announces changes (``subscribe``: the PostgreSQL
    store's LISTEN/NOTIFY), a pin changed anywhere is dropped from the cache
    as soon as the announcement arrives, usually within milliseconds; ``ttl``
    remains the bound should one be lost (``listen=False``: rely on ``ttl``
    alone). Accounts with no pin are not
    cached: their first request pins them, and that pin is. At most ``size``
    accounts are held (the oldest go first); ``ttl=0`` turns caching off.
    """

    def __init__(self, store: AnyPinStore, *, ttl: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, size: int = 100_000,
                 listen: bool = True) -> None:
        if ttl < 0 or size < 1:
            raise ValueError(f"ttl is a number of seconds >= 0 (got {ttl!r}) and size a "
                             f"number of accounts >= 1 (got {size!r})")
        self.store = store
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._async = as_async(store)
        self._pins: dict[str, tuple[float, Pin]] = {}
        self._forgets = 0  # counts forget() calls: a read they overtook is not kept
        subscribe = getattr(store, "subscribe", None)
        if ttl and listen and callable(subscribe):
            subscribe(self.forget)

    def _sync(self) -> PinStore:
        if not callable(getattr(self.store, "get", None)):
            raise TypeError(f"{self.store!r} is an async pin store: call the a-methods "
                            "(aget, apin_first...) from async code")
        return self.store  # type: ignore[return-value]  # it has the sync methods

    def cached(self, account: str) -> Pin | None:
        """The account's pin held in memory while it is fresh, else None (never reads
        the store)."""
        entry = self._pins.get(account)
        return entry[1] if entry is not None and entry[0] > self.clock() else None

    def _keep(self, pin: Pin) -> Pin:
        if self.ttl:
            pins = self._pins
            pins.pop(pin.account, None)  # re-inserted last: the oldest stay first
            pins[pin.account] = (self.clock() + self.ttl, pin)
            while len(pins) > self.size:  # another thread may forget at the same time
                pins.pop(next(iter(pins), ""), None)
        return pin

    def forget(self, account: str | None = None) -> None:
        """Drop ``account``'s cached pin (None: every pin), to read it anew."""
        self._forgets += 1
        if account is None:
            self._pins.clear()
        else:
            self._pins.pop(account, None)

    # -- sync -----------------------------------------------------------------

    def get(self, account: str) -> Pin | None:
        """The account's pin, from memory while it is fresh, else from the store."""
        entry = self._pins.get(account)
        if entry is not None and entry[0] > self.clock():  # the hot path: one dict lookup
            return entry[1]
        forgets = self._forgets
        return self._refresh(account, self._sync().get(account), forgets)

    def _refresh(self, account: str, pin: Pin | None, forgets: int) -> Pin | None:
        """Keep the ``pin`` just read from the store; forget a stale one it no longer has.

        A pin read while a forget() came in (an upgrade announced by another
        process) is returned but not kept: the read may have seen the database
        before that change, and keeping it would serve the old pin a whole ``ttl``.
        """
        if pin is None:
            self._pins.pop(account, None)
            return None
        return self._keep(pin) if forgets == self._forgets else pin

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        return self._keep(self._sync().pin_first(account, version, now=now))

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``; this process sees it at once."""
        self.forget(account)
        return self._keep(self._sync().upgrade(account, version, now=now))

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade; this process sees it at once."""
        self.forget(account)
        return self._keep(self._sync().rollback(account, now=now))

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history, here and in the store."""
        self.forget(account)
        self._sync().delete(account)

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, from the store (never cached)."""
        return self._sync().history(account)

    # -- async ----------------------------------------------------------------

    async def aget(self, account: str) -> Pin | None:
        """:meth:`get` without blocking the event loop."""
        entry = self._pins.get(account)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        forgets = self._forgets
        return self._refresh(account, await self._async.aget(account), forgets)

    async def apin_first(self, account: str, version: str, *,
                         now: dt.datetime | None = None) -> Pin:
        """:meth:`pin_first` without blocking the event loop."""
        return self._keep(await self._async.apin_first(account, version, now=now))

    async def aupgrade(self, account: str, version: str, *,
                       now: dt.datetime | None = None) -> Pin:
        """:meth:`upgrade` without blocking the event loop."""
        self.forget(account)
        return self._keep(await self._async.aupgrade(account, version, now=now))

    async def arollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """:meth:`rollback` without blocking the event loop."""
        self.forget(account)
        return self._keep(await self._async.arollback(account, now=now))

    async def adelete(self, account: str) -> None:
        """:meth:`delete` without blocking the event loop."""
        self.forget(account)
        await self._async.adelete(account)

    async def ahistory(self, account: str) -> list[PinEvent]:
        """:meth:`history` without blocking the event loop."""
        return await self._async.ahistory(account)

    def __len__(self) -> int:
        """The number of pins held in memory (fresh or not yet dropped)."""
        return len(self._pins)

    def __repr__(self) -> str:
        return f"<PinCache ttl={self.ttl}s {self.store!r}>"
