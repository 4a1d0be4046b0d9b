"""datever's public surface: one ``__all__``, documented, and no rich at import time."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import datever

INIT = Path(datever.__file__)


def names_bound_in_init() -> set[str]:
    """Every public name that ``datever/__init__.py`` binds at module level."""
    tree = ast.parse(INIT.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if not name.startswith("_")}


def test_all_is_exactly_the_sorted_public_names_of_init() -> None:
    """``datever.__all__`` is exactly the sorted public names bound in ``__init__.py``."""
    assert datever.__all__ == sorted(names_bound_in_init())


def test_all_has_no_duplicates() -> None:
    """No name is listed twice in ``__all__``."""
    assert len(datever.__all__) == len(set(datever.__all__))


def test_public_attributes_other_than_submodules_are_in_all() -> None:
    """Every public non-module attribute of the package is listed in ``__all__``."""
    public = {name for name, value in vars(datever).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public == set(datever.__all__)


def test_every_exported_name_is_importable() -> None:
    """``from datever import name`` works for every name in ``__all__``."""
    module = importlib.import_module("datever")
    for name in datever.__all__:
        assert getattr(module, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from datever import {', '.join(datever.__all__)}", namespace)
    assert set(datever.__all__) <= set(namespace)


def test_star_import_gives_exactly_all() -> None:
    """``from datever import *`` binds exactly the names of ``__all__``."""
    namespace: dict[str, object] = {}
    exec("from datever import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(datever.__all__)


def own_docstring(obj: object) -> str:
    """The docstring written for ``obj`` itself: not inherited, not made up by dataclasses."""
    doc = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    doc = (doc or "").strip()
    if isinstance(obj, type) and doc.startswith(f"{obj.__name__}("):
        return ""  # the signature dataclasses write when a class has no docstring
    return doc


def test_every_exported_name_has_a_docstring() -> None:
    """Every exported class and function carries its own non-empty docstring."""
    missing = [name for name in datever.__all__ if not own_docstring(getattr(datever, name))]
    assert missing == []


def test_package_has_a_docstring() -> None:
    """The package itself says what it is for."""
    assert (datever.__doc__ or "").strip()


def test_import_datever_does_not_import_rich() -> None:
    """``import datever`` keeps rich off the hot path: it is not in ``sys.modules``."""
    code = ("import sys, datever\n"
            "loaded = sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.'))\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=INIT.parent.parent)
    assert result.stdout.strip() == "[]"


def test_py_typed_is_shipped() -> None:
    """The package ships a ``py.typed`` marker for type checkers."""
    assert (INIT.parent / "py.typed").is_file()


#: The deliberate public surface: the front door, a change author's vocabulary, a
#: test author's tools. Adding or removing a name here is a decision, not an accident.
SURFACE = {
    "service": {"API", "APIGroups", "ReleaseLifecycle", "MemoryPinStore", "SQLitePinStore",
                "Schemas", "Version", "current_version", "includes"},
    "change author": {"Change", "Operation", "Resource", "add", "collapse", "convert", "custom",
                      "map_values", "move", "remove", "rename", "add_endpoint", "add_header",
                      "add_param", "change_error_format", "change_limit", "change_sort_order",
                      "change_status", "remove_endpoint", "rename_endpoint", "rename_param",
                      "reorder_properties"},
    "test author": {"Engine", "reference_down", "reference_up", "using_version"},
    "errors": {"DateverError", "ChangeError", "MigrationError", "VersionError", "PinError"},
}


def test_all_is_exactly_the_chosen_surface() -> None:
    """``__all__`` holds exactly the names a service, a change author and a test author use."""
    assert set(datever.__all__) == set().union(*SURFACE.values())


def test_names_outside_all_stay_importable_from_their_modules() -> None:
    """The parts a hand-wired service needs are still there, each in its module."""
    from datever.groups import FeatureGroups
    from datever.lifecycle import Lifecycle, check_policies
    from datever.pins import PinStore
    from datever.selection import VersionSelector
    from datever.versions import Timeline
    from datever.web.asgi import VersioningMiddleware
    from datever.web.routing import Routes
    from datever.web.versioning import Versioning
    from datever.web.wsgi import VersioningWSGIMiddleware
    from datever.webhooks import render_event

    parts = (FeatureGroups, Lifecycle, check_policies, PinStore, VersionSelector, Timeline,
             VersioningMiddleware, Routes, Versioning, VersioningWSGIMiddleware, render_event)
    assert all(callable(part) or isinstance(part, type) for part in parts)


def test_resource_declarations_are_exported() -> None:
    """``Resource``, which ``changes/resources.py`` imports, is part of the public surface."""
    from datever.resources import Resource

    assert datever.Resource is Resource
    assert "Resource" in datever.__all__
