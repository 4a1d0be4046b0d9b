"""Version pin stores: which API version each account is pinned to.

An account is pinned to the newest release on its first request, exactly once,
may upgrade, and may roll its last upgrade back within 72 hours (as Stripe does).
Every store keeps each account's history of pins. The SQLite store lives in
:mod:`datever.pins_sql`, the PostgreSQL one in :mod:`datever.pins_pg`, the
async side and the per-process cache in :mod:`datever.pins_async`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import pendulum

from datever.errors import DateverError, VersionError
from datever.versions import parse_version

if TYPE_CHECKING:
    from datever.pins_sql import SQLitePinStore

__all__ = ["ROLLBACK_WINDOW", "MemoryPinStore", "Pin", "PinAction", "PinError", "PinEvent",
           "PinStore", "PinStoreUnavailable", "SQLitePinStore", "dated_order"]

ROLLBACK_WINDOW = pendulum.duration(hours=72)
"""How long after an upgrade the account may still roll it back."""

PinAction = Literal["pinned", "upgraded", "rolled_back"]
"""What happened to a pin: first pinned, upgraded, or an upgrade rolled back."""


class PinError(DateverError):
    """A pin operation is not allowed: no pin, a version that is not newer, a closed window.

    ``account`` names the account concerned, when there is one.
    """

    def __init__(self, message: str, *, account: str | None = None) -> None:
        self.account = account
        super().__init__(message)


class PinStoreUnavailable(DateverError):
    """The pin store cannot be reached (its database is down or out of connections).

    ``store`` names the store (without a password); ``retry_after`` is how
    many seconds the store waits before it tries the database again.
    """

    def __init__(self, message: str, *, store: str, retry_after: float) -> None:
        self.store = store
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Pin:
    """The version an account is pinned to.

    ``pinned_at`` is when the account was first pinned (UTC); ``previous`` is
    the version before the last upgrade and ``previous_at`` when that upgrade
    happened, both None when there is no upgrade to roll back.
    """

    account: str
    version: str
    pinned_at: dt.datetime
    previous: str | None = None
    previous_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PinEvent:
    """One entry of an account's pin history: the ``version`` it ``action`` to, ``at`` (UTC).

    ``action`` is ``"pinned"`` (the first pin), ``"upgraded"`` or
    ``"rolled_back"`` (``version`` is then the version restored).
    """

    version: str
    action: PinAction
    at: dt.datetime


def dated_order(version: str) -> tuple[int, dt.date]:
    """Sort key of a dated version name: ``v1``/``1`` first, then dates in date order.

    ``2021-06-07`` and ``v2021-06-07`` are equal; anything else raises PinError.
    """
    try:
        requested = parse_version(version)
    except VersionError:
        requested = None
    if requested is None or requested.kind == "head":
        raise PinError(f"{version!r} cannot be pinned: pin a release date YYYY-MM-DD "
                       "(or vYYYY-MM-DD), or v1 / 1 for the initial version; give the "
                       "store an order= function for other version schemes")
    if requested.kind == "initial":
        return (0, dt.date.min)
    assert requested.date is not None
    return (1, requested.date)


@runtime_checkable
class PinStore(Protocol):
    """Where pins live. Every method is atomic; ``now`` defaults to the current UTC time."""

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history (nothing happens when it has none)."""

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last (empty: none)."""


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return pendulum.now("UTC")
    if now.tzinfo is None or now.utcoffset() is None:
        raise PinError(f"now={now!r} has no time zone: pass an aware datetime such as "
                       "pendulum.now('UTC')")
    return pendulum.instance(now).in_timezone("UTC")


def _key(order: Callable[[str], Any], version: str) -> Any:
    """``order(version)``, with a custom order's lookup errors turned into PinError."""
    try:
        return order(version)
    except (LookupError, TypeError, ValueError) as exc:
        raise PinError(f"{version!r} is not a version this store's order knows "
                       f"({exc}); pin one of the versions it orders") from exc


def _required(pin: Pin | None, account: str, action: str) -> Pin:
    if pin is None:
        raise PinError(f"account {account!r} has no pin to {action}: pin it with "
                       "pin_first() on its first request", account=account)
    return pin


def _upgraded(pin: Pin, version: str, order: Callable[[str], Any], now: dt.datetime) -> Pin:
    if not _key(order, version) > _key(order, pin.version):
        raise PinError(f"cannot upgrade {pin.account!r} from {pin.version} to {version}: "
                       f"it is not newer; upgrade to a version after {pin.version}, or use "
                       "rollback() within 72 hours of an upgrade", account=pin.account)
    return replace(pin, version=version, previous=pin.version, previous_at=now)


def _rolled_back(pin: Pin, now: dt.datetime) -> Pin:
    if pin.previous is None or pin.previous_at is None:
        raise PinError(f"account {pin.account!r} (pinned to {pin.version}) has no upgrade "
                       "to roll back: only the last upgrade can be undone, within 72 hours "
                       "of it", account=pin.account)
    closed = pin.previous_at + ROLLBACK_WINDOW
    if now >= closed:
        raise PinError(f"cannot roll {pin.account!r} back from {pin.version} to "
                       f"{pin.previous}: the 72-hour window closed at {closed.isoformat()}; "
                       f"the account stays on {pin.version} and can only upgrade",
                       account=pin.account)
    return replace(pin, version=pin.previous, previous=None, previous_at=None)


class MemoryPinStore:
    """Pins in a dict guarded by a lock: for tests and single-process services."""

    def __init__(self, order: Callable[[str], Any] = dated_order) -> None:
        self.order = order
        self._pins: dict[str, Pin] = {}
        self._history: dict[str, list[PinEvent]] = {}
        self._lock = threading.Lock()

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        with self._lock:
            return self._pins.get(account)

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        pin = Pin(account, version, _utc(now))
        with self._lock:
            if account in self._pins:
                return self._pins[account]
            self._pins[account] = pin
            self._history[account] = [PinEvent(version, "pinned", pin.pinned_at)]
            return pin

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        with self._lock:
            pin = _upgraded(_required(self._pins.get(account), account, "upgrade"),
                            version, self.order, at)
            self._pins[account] = pin
            self._history[account].append(PinEvent(version, "upgraded", at))
            return pin

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        with self._lock:
            pin = _rolled_back(_required(self._pins.get(account), account, "roll back"), at)
            self._pins[account] = pin
            self._history[account].append(PinEvent(pin.version, "rolled_back", at))
            return pin

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history (nothing happens when it has none)."""
        with self._lock:
            self._pins.pop(account, None)
            self._history.pop(account, None)

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last (empty: none)."""
        with self._lock:
            return list(self._history.get(account, ()))

    def __len__(self) -> int:
        """The number of pinned accounts."""
        with self._lock:
            return len(self._pins)


def __getattr__(name: str) -> Any:
    # SQLitePinStore lives in its own module, which imports this one; loading it
    # on first use keeps ``from datever.pins import SQLitePinStore`` working
    # without an import cycle.
    if name == "SQLitePinStore":
        from datever.pins_sql import SQLitePinStore

        return SQLitePinStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
