"""Feature groups: several independent timelines in one API (Climatiq's model).

Each group is keyed by its URL namespace (``/compute/...``, ``/data/...``) and
versioned on its own: all resources of a group move to a new version
together, and a version of one group says nothing about another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from datever.engine import Engine
from datever.errors import DateverError
from datever.versions import path_version

__all__ = ["FeatureGroups", "GroupRoute"]


@dataclass(frozen=True, slots=True)
class GroupRoute:
    """Where a request path lands: its group, the version segment and the rest of the path."""

    group: str
    engine: Engine
    version: str | None
    path: str


class FeatureGroups(Mapping[str, Engine]):
    """Engines keyed by URL namespace; ``route(path)`` finds a request's group and version.

    >>> groups = FeatureGroups({"compute": compute_engine, "data": data_engine})  # doctest: +SKIP
    >>> groups.route("/compute/v2-preview1/estimate")                          # doctest: +SKIP
    GroupRoute(group='compute', engine=..., version='v2-preview1', path='/estimate')
    """

    def __init__(self, groups: Mapping[str, Engine]) -> None:
        for name in groups:
            if not name or "/" in name:
                raise ValueError(f"a group name is one path segment, got {name!r}")
        self._groups = dict(groups)

    def __getitem__(self, name: str) -> Engine:
        return self._groups[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def route(self, path: str) -> GroupRoute:
        """Split ``/group/version/rest`` (the version segment may be absent).

        The second segment counts as a version when it names one
        (:func:`datever.versions.path_version`: ``v2021-06-07``, ``vX``, ``v2``,
        ``v2-preview1``); otherwise it belongs to the path.
        """
        segments = path.lstrip("/").split("/", 2)
        group = segments[0]
        if group not in self._groups:
            raise DateverError(f"no feature group {group!r} for path {path!r}; "
                               f"groups: {', '.join(sorted(self._groups))}")
        rest = segments[1:]
        version = None
        if rest and (named := path_version(rest[0])) is not None:
            version, rest = named, rest[1:]
        return GroupRoute(group, self._groups[group], version, "/" + "/".join(rest))
