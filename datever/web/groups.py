"""Feature groups in one middleware: several timelines, each under its URL namespace.

``/compute/v2-preview1/estimate`` is decided by the ``compute`` group's
:class:`~datever.web.versioning.Versioning` as ``/v2-preview1/estimate``;
the app is then served ``/compute/estimate``. Paths outside every namespace
are not versioned at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from datever.selection import AccountPin
from datever.web.versioning import Proceed, Reply, Versioning

__all__ = ["GroupedVersioning"]


class GroupedVersioning:
    """The per-request logic of several :class:`Versioning` objects keyed by namespace.

    Every group must read versions from the same header and query parameter
    (the middleware looks for one of each). :meth:`decide` returns None for
    a path in no group: the middleware then passes it through untouched.
    """

    def __init__(self, groups: Mapping[str, Versioning]) -> None:
        if not groups:
            raise ValueError("give at least one group: {'compute': API(...), ...}")
        for name, versioning in groups.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise ValueError(f"a group's namespace is one path segment, got {name!r}")
            if not isinstance(versioning, Versioning):
                raise TypeError(f"group {name!r} is not a Versioning")
        self.groups = dict(groups)
        first = next(iter(self.groups.values()))
        for name, versioning in self.groups.items():
            if (versioning.header, versioning.query) != (first.header, first.query):
                raise ValueError(
                    f"group {name!r} reads versions from header {versioning.header!r} and "
                    f"query {versioning.query!r}, another group from {first.header!r} and "
                    f"{first.query!r}: one middleware needs one of each")
        self.header = first.header
        self.query = first.query

    def group_of(self, path: str) -> tuple[str, Versioning, str] | None:
        """``(namespace, its versioning, the path after the namespace)``, or None."""
        name, _, rest = path[1:].partition("/") if path.startswith("/") else ("", "", "")
        versioning = self.groups.get(name)
        if versioning is None:
            return None
        return name, versioning, "/" + rest

    def decide(self, method: str, path: str, headers: Mapping[str, str] | None = None,
               query: Mapping[str, str] | None = None, *, account: str | None = None,
               client_pin: str | None = None, today: dt.date | None = None,
               query_string: str | bytes | None = None,
               account_pin: AccountPin | None = None) -> Reply | Proceed | None:
        """Decide a request in its group (see :meth:`Versioning.decide`); None: no group."""
        found = self.group_of(path)
        if found is None:
            return None
        name, versioning, rest = found
        decision = versioning.decide(method, rest, headers, query, account=account,
                                     client_pin=client_pin, today=today,
                                     query_string=query_string, account_pin=account_pin)
        if isinstance(decision, Reply):
            return decision
        inner = decision.path if decision.path != "/" else ""
        moved = decision.moved or bool(decision.prefix)
        return dataclasses.replace(decision, path=f"/{name}{inner}", moved=moved,
                                   prefix=f"/{name}{decision.prefix}" if decision.prefix
                                   else "")

    def __repr__(self) -> str:
        return f"<GroupedVersioning {', '.join(self.groups)}>"
