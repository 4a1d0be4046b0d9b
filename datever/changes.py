"""The change declaration and the loader of a ``changes/`` directory.

A change module holds one :class:`Change`; its docstring may serve as the
description. Released changes live in files whose names start with their
date (``2021_06_07_charge_amount_in_cents.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from datever.errors import ChangeError
from datever.operations import Operation, Step
from datever.versions import is_date_shaped, named_key, parse_date

__all__ = ["Change", "load_changes"]

Stage = Literal["released", "beta", "experimental"]
Direction = Literal["up", "down"]

_STAGE_RANK = {"released": 0, "beta": 1, "experimental": 2}
_FILE_DATE = re.compile(r"([0-9]{4})_([0-9]{2})_([0-9]{2})_")
_OPERATION_NAMES = "rename, move, add, remove, map_values, convert, collapse, custom"


def parse_release_date(text: str) -> dt.date:
    """A strict ``YYYY-MM-DD`` calendar date, or ChangeError."""
    date = parse_date(text)
    if date is not None:
        return date
    if not is_date_shaped(text):
        raise ChangeError(f"released={text!r} is not a date; write it as YYYY-MM-DD")
    raise ChangeError(f"released={text!r} is not a calendar date")


class Change:
    """One breaking (or retroactive) change of the API, declared in its own module.

    ``released`` is the UTC date it took effect (``"2021-06-07"``), or on a
    timeline of named versions the version that introduced it (``"v2"``,
    ``"v2-preview1"``); an unreleased change gives ``stage="beta"`` or
    ``stage="experimental"`` instead. ``resources`` maps each resource type it touches (``"charge"``
    for responses, ``"charge.create"`` for a request body) to the list of
    operations that take its old shape to the new one, in order.
    ``side_effects`` marks a change that service code checks with
    ``version.includes(change)``. A change made only of backward-compatible
    operations is *retroactive*: it applies to every version, old ones
    included; ``retroactive=False`` keeps such a change versioned.
    ``beta_since`` dates a beta change, for the promotion policy.
    """

    __slots__ = (
        "_steps",
        "beta_since",
        "description",
        "file",
        "id",
        "named",
        "released",
        "resources",
        "retroactive",
        "side_effects",
        "stage",
    )

    def __init__(
        self,
        *,
        released: str | dt.date | None = None,
        stage: Literal["beta", "experimental"] | None = None,
        description: str | None = None,
        resources: Mapping[str, Sequence[Operation]] | None = None,
        side_effects: bool = False,
        retroactive: bool | None = None,
        beta_since: str | dt.date | None = None,
        id: str | None = None,
    ) -> None:
        if (released is None) == (stage is None) or released == "":
            raise ChangeError("a change gives exactly one of released='YYYY-MM-DD' and "
                              "stage='beta' or 'experimental'")
        if stage is not None and stage not in ("beta", "experimental"):
            raise ChangeError(f"stage={stage!r}: use 'beta' or 'experimental'")
        self.named: str | None = None
        if isinstance(released, str) and named_key(released) is not None:
            self.named, released = released, None
        elif isinstance(released, str):
            released = parse_release_date(released)
        elif released is not None and not isinstance(released, dt.date):
            raise ChangeError(f"released={released!r} is not a date; write it as YYYY-MM-DD")
        self.released: dt.date | None = released
        self.stage: Stage = stage or "released"
        self.description = (description or "").strip()
        self.side_effects = bool(side_effects)
        if retroactive not in (None, True, False):
            raise ChangeError(f"retroactive={retroactive!r}: use True, False or leave it out")
        #: None: decided by the breaking rules (datever.classify); False keeps a
        #: backward-compatible change versioned; True insists it is retroactive
        self.retroactive: bool | None = retroactive
        if beta_since is not None and stage != "beta":
            raise ChangeError("beta_since= is for stage='beta' changes")
        #: when a beta change entered beta (the policy expects promotion within ~3 months)
        self.beta_since: dt.date | None = (parse_release_date(beta_since)
                                           if isinstance(beta_since, str) else beta_since)
        self.id = id or ""
        self.file: str | None = None
        self.resources: dict[str, tuple[Operation, ...]] = _check_resources(resources or {})
        if not self.resources and not self.side_effects:
            raise ChangeError("a change declares resources={...} or side_effects=True")
        self._steps: dict[tuple[str, str], tuple[Step, ...]] = {}

    # -- what it is --------------------------------------------------------

    @property
    def label(self) -> str:
        """The release date as ``YYYY-MM-DD``, the version name, or the stage name."""
        if self.released:
            return self.released.isoformat()
        return self.named or self.stage

    @property
    def sort_key(self) -> tuple[int, object, str]:
        """Oldest first: released by date (or named version) then id, then beta, then
        experimental."""
        release: object = self.released or named_key(self.named or "") or dt.date.max
        if self.stage != "released":
            release = (0, 0, 0)  # unreleased changes sort by stage alone
        return (_STAGE_RANK[self.stage], release, self.id)

    @property
    def lossless(self) -> bool:
        """True when every operation satisfies ``up(down(x)) == x``."""
        return all(op.lossless for ops in self.resources.values() for op in ops)

    def steps(self, resource: str, direction: Direction) -> tuple[Step, ...]:
        """The steps this change runs on ``resource`` in ``direction``, in order."""
        key = (resource, direction)
        cached = self._steps.get(key)
        if cached is None:
            ops = self.resources.get(resource, ())
            if direction == "up":
                cached = tuple(step for op in ops for step in op.up)
            else:
                cached = tuple(step for op in reversed(ops) for step in op.down)
            self._steps[key] = cached
        return cached

    def is_barrier(self, discriminator: str, direction: Direction) -> bool:
        """True when, in ``direction``, the change reaches into nested resources or
        rewrites the discriminator: the compiler then gives it a walk of its own."""
        for resource, ops in self.resources.items():
            if any(discriminator in op.touches for op in ops):
                return True
            if any(step.barrier for step in self.steps(resource, direction)):
                return True
        return False

    def __repr__(self) -> str:
        return f"<Change {self.id or '?'} {self.label}>"

    def __rich_repr__(self) -> Iterable[tuple[str, object]]:
        yield "id", self.id
        yield "release", self.label
        yield "description", self.description
        yield "resources", sorted(self.resources)


def _check_resources(resources: object) -> dict[str, tuple[Operation, ...]]:
    if not isinstance(resources, Mapping):
        raise ChangeError(f"resources must be a dict of resource name to operations, "
                          f"got {type(resources).__name__}")
    checked: dict[str, tuple[Operation, ...]] = {}
    for name, ops in resources.items():
        if not isinstance(name, str) or not name:
            raise ChangeError(f"resource names are non-empty strings, got {name!r}")
        if isinstance(ops, Operation):
            ops = [ops]
        if not isinstance(ops, Sequence) or not ops:
            raise ChangeError(f"resource {name!r}: give a non-empty list of operations")
        for op in ops:
            if not isinstance(op, Operation):
                raise ChangeError(f"resource {name!r}: unknown operation {op!r}; "
                                  f"use one of {_OPERATION_NAMES}")
        checked[name] = tuple(ops)
    return checked


# -- loading ---------------------------------------------------------------


def load_changes(directory: str | Path = "changes") -> list[Change]:
    """Import every change module in ``directory`` and validate the history.

    Files whose names start with ``_`` are skipped. Every error names the
    file and says what to fix; collisions name both files.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ChangeError(f"no changes directory at {str(root)!r}")
    package = "datever_changes_" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    changes = [_load_module(path, package) for path in sorted(root.glob("*.py"))
               if not path.name.startswith("_")]
    check_collisions(changes)
    return sorted(changes, key=lambda change: change.sort_key)


def _load_module(path: Path, package: str) -> Change:
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-files
        raise ChangeError("cannot be imported", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ChangeError as exc:
        del sys.modules[name]
        raise exc.in_file(str(path)) from None
    except Exception as exc:
        del sys.modules[name]
        raise ChangeError(f"importing it raised {type(exc).__name__}: {exc}",
                          file=str(path)) from exc
    found = [value for value in vars(module).values() if isinstance(value, Change)]
    if len(found) != 1:
        raise ChangeError(f"a change module defines exactly one Change, found {len(found)}",
                          file=str(path))
    change = found[0]
    change.id = change.id or path.stem
    change.file = str(path)
    if not change.description:
        change.description = (module.__doc__ or "").strip()
    if not change.description:
        raise ChangeError("missing description: give the module a docstring or "
                          "Change(description=...)", file=str(path))
    _check_file_name(change, path)
    return change


def _check_file_name(change: Change, path: Path) -> None:
    match = _FILE_DATE.match(path.stem)
    if change.named is not None:
        expected = change.named.replace("-", "_") + "_"
        if not path.stem.startswith(expected):
            raise ChangeError(f"released in {change.named}: name the file "
                              f"{expected}<summary>.py", file=str(path))
        return
    if change.released is None:
        if match:
            raise ChangeError(f"the file name carries a date but the change is "
                              f"stage={change.stage!r}; rename the file without the date",
                              file=str(path))
        return
    expected = change.released.strftime("%Y_%m_%d_")
    if not match:
        raise ChangeError(f"released on {change.label}: name the file {expected}<summary>.py",
                          file=str(path))
    if match.group(0) != expected:
        raise ChangeError(f"the file name's date disagrees with released={change.label!r}",
                          file=str(path))


def check_collisions(changes: Sequence[Change]) -> None:
    """Two changes of one release must not rewrite the same property of one resource."""
    seen: dict[tuple[object, str, str], Change] = {}
    for change in changes:
        release: object = change.released or change.named or change.stage
        for resource, ops in change.resources.items():
            for prop in sorted({prop for op in ops for prop in op.touches}):
                other = seen.setdefault((release, resource, prop), change)
                if other is not change:
                    raise ChangeError(
                        f"{change.id} and {other.id} both rewrite {resource}.{prop} in "
                        f"release {change.label}; merge them or move one to another release",
                        file=change.file,
                    )
