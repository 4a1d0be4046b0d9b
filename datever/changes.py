"""The change declaration and the loader of a ``changes/`` directory.

A change module holds one :class:`Change`; its docstring may serve as the
description. Released changes live in files whose names start with their
date (``2021_06_07_charge_amount_in_cents.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Literal

from datever.errors import ChangeError
from datever.operations import Operation, Step
from datever.resources import UNDECLARED, Resource, Resources, shared_operations
from datever.schemas import Schemas
from datever.versions import file_release, is_date_shaped, named_key, parse_date

__all__ = ["Change", "change_files", "check_collisions", "check_history", "load_changes",
           "load_declarations", "load_resources", "load_schemas"]

Stage = Literal["released", "beta", "experimental"]
Direction = Literal["up", "down"]

_STAGE_RANK = {"released": 0, "beta": 1, "experimental": 2}
_OPERATION_NAMES = "rename, move, add, remove, map_values, convert, collapse, custom"


def parse_release_date(text: str, what: str = "released") -> dt.date:
    """A strict ``YYYY-MM-DD`` calendar date, or ChangeError (``what`` names the argument)."""
    date = parse_date(text)
    if date is not None:
        return date
    if not is_date_shaped(text):
        raise ChangeError(f"{what}={text!r} is not a date; write it as YYYY-MM-DD")
    raise ChangeError(f"{what}={text!r} is not a calendar date")


def _as_date(value: object, what: str) -> dt.date:
    """A date from ``"YYYY-MM-DD"`` or a date. A datetime is refused: a release is a
    whole UTC day, named by its date alone (version names, pins)."""
    if isinstance(value, str):
        return parse_release_date(value, what)
    if isinstance(value, dt.datetime):
        raise ChangeError(f"{what}={value!r} is a datetime, but a release is a whole day: "
                          f"write {what}={value.date().isoformat()!r}")
    if not isinstance(value, dt.date):
        raise ChangeError(f"{what}={value!r} is not a date; write it as YYYY-MM-DD")
    return value


class Change:
    """One breaking (or retroactive) change of the API, declared in its own module.

    ``released`` is the UTC date it took effect (``"2021-06-07"``), or on a
    timeline of named versions the version that introduced it (``"v2"``,
    ``"v2-preview1"``); an unreleased change gives ``stage="beta"`` or
    ``stage="experimental"`` instead. ``resources`` maps each resource type it touches (a
    response resource such as ``"charge"``, or a request body such as ``"charge.create"``, as
    declared by :class:`~datever.Resource`) to the list of operations that take its old shape
    to the new one, in order. An operation on a response resource also rewrites the request
    bodies that share its properties (see :attr:`operations`).
    ``side_effects`` marks a change that service code checks with
    ``version.includes(change)``. A change made only of backward-compatible
    operations is *retroactive*: it applies to every version, old ones
    included; ``retroactive=False`` keeps such a change versioned.
    ``beta_since`` dates a beta change, for the promotion policy.
    """

    __slots__ = (
        "_operations",
        "_steps",
        "beta_since",
        "declarations",
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
        elif released is not None:
            released = _as_date(released, "released")
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
        self.beta_since: dt.date | None = (_as_date(beta_since, "beta_since")
                                           if beta_since is not None else None)
        self.id = id or ""
        self.file: str | None = None
        self.resources: dict[str, tuple[Operation, ...]] = _check_resources(resources or {})
        if not self.resources and not self.side_effects:
            raise ChangeError("a change declares resources={...} or side_effects=True")
        #: the resource declarations this change is checked against (bound by the
        #: loader or a Timeline); empty: every resource is a response resource
        self.declarations: Resources = UNDECLARED
        self._operations: dict[str, tuple[Operation, ...]] = self.resources
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

    @property
    def operations(self) -> Mapping[str, tuple[Operation, ...]]:
        """The operations that run on each resource: ``resources`` as declared, plus, for
        each request body a declared response resource shares its properties with, the
        response's shared operations (after the body's own, if it has any)."""
        return self._operations

    def bind(self, resources: Resources) -> None:
        """Check this change against ``resources`` and apply the operations its response
        resources share with their request bodies; ChangeError names the file.

        A change is bound once (by the loader or a Timeline); binding it again to other
        non-empty declarations is an error.
        """
        if resources == self.declarations:
            return
        if self.declarations:
            raise ChangeError(f"{self.id} is already checked against other resource "
                              f"declarations ({self.declarations.file or 'given to a Timeline'})"
                              "; give one timeline's changes one set of declarations",
                              file=self.file)
        self._operations = shared_operations(self, resources)
        self.declarations = resources
        self._steps.clear()

    def steps(self, resource: str, direction: Direction) -> tuple[Step, ...]:
        """The steps this change runs on ``resource`` in ``direction``, in order."""
        key = (resource, direction)
        cached = self._steps.get(key)
        if cached is None:
            ops = self._operations.get(resource, ())
            if direction == "up":
                cached = tuple(step for op in ops for step in op.up)
            else:
                cached = tuple(step for op in reversed(ops) for step in op.down)
            self._steps[key] = cached
        return cached

    def is_barrier(self, discriminator: str, direction: Direction) -> bool:
        """True when, in ``direction``, the change reaches into nested resources or
        rewrites the discriminator: the compiler then gives it a walk of its own."""
        for resource, ops in self._operations.items():
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

#: The file of a changes directory that declares its resources (not a change module).
RESOURCES_FILE = "resources.py"
#: The file of a changes directory that declares the head shapes (:class:`~datever.Schemas`).
SCHEMAS_FILE = "schemas.py"


def change_files(directory: str | Path) -> list[Path]:
    """The change modules of ``directory``, sorted: ``*.py`` files except those starting
    with ``_``, the resource declarations (:data:`RESOURCES_FILE`) and the head shapes
    (:data:`SCHEMAS_FILE`)."""
    return [path for path in sorted(Path(directory).glob("*.py"))
            if not path.name.startswith("_") and path.name not in (RESOURCES_FILE,
                                                                   SCHEMAS_FILE)]


def _package(root: Path, prefix: str = "datever_changes_") -> str:
    return prefix + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]


def load_changes(directory: str | Path = "changes") -> list[Change]:
    """Import every change module in ``directory`` and validate the history.

    Files whose names start with ``_`` are skipped; ``resources.py``, when
    present, declares the resources (:func:`load_resources`) and every change
    is checked against it and bound to it, so that a Timeline of these
    changes knows their declarations. ``schemas.py``, when present, declares
    the head shapes (:func:`load_schemas`): an operation naming a resource or
    property they do not have at that point of history is an error. Every error
    names the file and says
    what to fix; collisions name both files. A failed load leaves none of
    its modules in ``sys.modules``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ChangeError(f"no changes directory at {str(root)!r}")
    package = _package(root)
    imported: list[str] = []
    try:
        resources, schemas = _declarations(root, package, imported)
        changes = [_load_module(path, package, imported) for path in change_files(root)]
        check_history(changes)
        for change in changes:
            change.bind(resources)
        check_collisions(changes)
        if schemas is not None:
            schemas.check(changes)
    except BaseException:
        for name in imported:
            sys.modules.pop(name, None)
        raise
    return sorted(changes, key=lambda change: change.sort_key)


def load_resources(directory: str | Path = "changes") -> Resources:
    """The resources declared in ``directory``'s ``resources.py``: every module-level
    :class:`~datever.Resource` (or list of them). Without that file, those its
    ``schemas.py`` implies (:meth:`~datever.Schemas.resources`); empty without either."""
    return load_declarations(directory)[0]


def load_declarations(directory: str | Path = "changes") -> tuple[Resources, Schemas | None]:
    """The resource declarations (:func:`load_resources`) and the head shapes
    (:func:`load_schemas`) of ``directory``, each module imported once."""
    root = Path(directory)
    imported: list[str] = []
    try:
        return _declarations(root, _package(root), imported)
    except BaseException:
        for name in imported:
            sys.modules.pop(name, None)
        raise


def load_schemas(directory: str | Path = "changes") -> Schemas | None:
    """The head shapes declared in ``directory``'s ``schemas.py``: its one module-level
    :class:`~datever.Schemas`. None when there is no such file."""
    root = Path(directory)
    imported: list[str] = []
    try:
        return _load_schemas(root, _package(root), imported)
    except BaseException:
        for name in imported:
            sys.modules.pop(name, None)
        raise


def _declarations(root: Path, package: str,
                  imported: list[str]) -> tuple[Resources, Schemas | None]:
    """The resource declarations and the head shapes of a changes directory; without a
    ``resources.py``, the declarations the shapes imply."""
    resources = _load_resources(root, package, imported)
    schemas = _load_schemas(root, package, imported)
    if not resources and schemas is not None:
        resources = schemas.resources(file=str(root / SCHEMAS_FILE))
    return resources, schemas


def _load_schemas(root: Path, package: str, imported: list[str]) -> Schemas | None:
    path = root / SCHEMAS_FILE
    if not path.is_file():
        return None
    module = _import(path, package, imported)
    found = {id(value): value for value in vars(module).values() if isinstance(value, Schemas)}
    if len(found) != 1:
        raise ChangeError(f"declares the head shapes in exactly one Schemas(...), found "
                          f"{len(found)}", file=str(path))
    return next(iter(found.values()))


def _load_resources(root: Path, package: str, imported: list[str]) -> Resources:
    path = root / RESOURCES_FILE
    if not path.is_file():
        return UNDECLARED
    module = _import(path, package, imported)
    found: dict[int, Resource] = {}
    for value in vars(module).values():
        if isinstance(value, Change):
            raise ChangeError(f"{RESOURCES_FILE} declares resources, not changes: move the "
                              "Change into a module of its own", file=str(path))
        items = value if isinstance(value, list | tuple) and value else [value]
        if all(isinstance(item, Resource) for item in items):
            found.update((id(item), item) for item in items)
    if not found:
        raise ChangeError("declares no Resource: declare every resource the changes name, "
                          "e.g. charge = Resource('charge', requests=('charge.create',))",
                          file=str(path))
    return Resources(found.values(), file=str(path))


def load_each(directory: str | Path) -> list[Change | ChangeError]:
    """Every change module of ``directory`` loaded on its own, in file name order: its
    Change, or the ChangeError that stops it loading.

    For ``datever check``, which lists every error at once where
    :func:`load_changes` stops at the first; the history is not validated and the
    changes are not bound to the resource declarations.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ChangeError(f"no changes directory at {str(root)!r}")
    # Not load_changes' package, so a check never replaces the modules it imported.
    package = _package(root, "datever_check_")
    loaded: list[Change | ChangeError] = []
    imported: list[str] = []
    try:
        for path in change_files(root):
            try:
                loaded.append(_load_module(path, package, imported))
            except ChangeError as exc:
                loaded.append(exc)
    finally:
        for name in imported:
            sys.modules.pop(name, None)
    return loaded


def _import(path: Path, package: str, imported: list[str]) -> ModuleType:
    """Execute the module at ``path``; an error it raises (SystemExit included, not
    KeyboardInterrupt) becomes a ChangeError naming the file."""
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-files
        raise ChangeError("cannot be imported", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    imported.append(name)
    try:
        spec.loader.exec_module(module)
    except ChangeError as exc:
        raise exc.in_file(str(path)) from None
    except (Exception, SystemExit) as exc:
        raise ChangeError(f"importing it raised {type(exc).__name__}: {exc}",
                          file=str(path)) from exc
    return module


def _load_module(path: Path, package: str, imported: list[str]) -> Change:
    module = _import(path, package, imported)
    if any(isinstance(value, Resource) for value in vars(module).values()):
        raise ChangeError(f"declares a Resource, but resources are declared in "
                          f"{RESOURCES_FILE}: move it there", file=str(path))
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
    release = file_release(path.stem)
    dated = release if release is not None and is_date_shaped(release) else None
    if change.named is not None:
        expected = change.named.replace("-", "_") + "_"
        if release != change.named:
            raise ChangeError(f"released in {change.named}: name the file "
                              f"{expected}<summary>.py", file=str(path))
        return
    if change.released is None:
        if dated is not None:
            raise ChangeError(f"the file name carries a date but the change is "
                              f"stage={change.stage!r}; rename the file without the date",
                              file=str(path))
        return
    expected = change.released.strftime("%Y_%m_%d_")
    if dated is None:
        raise ChangeError(f"released on {change.label}: name the file {expected}<summary>.py",
                          file=str(path))
    if dated != change.label:
        raise ChangeError(f"the file name's date disagrees with released={change.label!r}",
                          file=str(path))


def check_history(changes: Sequence[Change]) -> None:
    """Changes that cannot form one timeline: dated mixed with named versions, or two
    changes with one id. The ChangeError names a file of each side."""
    dated = next((c for c in changes if c.released is not None), None)
    named = next((c for c in changes if c.named is not None), None)
    if dated is not None and named is not None:
        raise ChangeError(
            f"the history mixes dated changes ({dated.id}, released {dated.label}"
            f"{_in(dated)}) and named versions ({named.id}, released in {named.label}); use "
            "one scheme per timeline (a feature group of its own for the named versions)",
            file=named.file)
    seen: dict[str, Change] = {}
    for change in changes:
        first = seen.setdefault(change.id, change)
        if first is not change:
            raise ChangeError(f"the change id {change.id!r} is also used by "
                              f"{first.file or 'another change'}; ids must be unique",
                              file=change.file)


def _in(change: Change) -> str:
    return f", in {change.file}" if change.file else ""


def check_collisions(changes: Sequence[Change]) -> None:
    """Two changes of one release must not rewrite the same property of one resource."""
    seen: dict[tuple[object, str, str], Change] = {}
    for change in changes:
        release: object = change.released or change.named or change.stage
        for resource, ops in change.operations.items():
            for prop in sorted({prop for op in ops for prop in op.touches}):
                other = seen.setdefault((release, resource, prop), change)
                if other is not change:
                    raise ChangeError(
                        f"{change.id} and {other.id} both rewrite {resource}.{prop} in "
                        f"release {change.label}; merge them or move one to another release",
                        file=change.file,
                    )
