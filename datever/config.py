"""A project's configuration for the command line: ``[tool.datever]`` in pyproject.toml.

The ``datever`` command looks for the nearest ``pyproject.toml`` holding a
``[tool.datever]`` table, from the current directory up, and takes from it
whatever the command line does not say::

    [tool.datever]
    changes = "changes"                          # the changes directory
    schemas = "myapi.schemas:SCHEMAS"            # the head Structs (a datever.Schemas)
    routes = "myapi.app:ROUTES"                  # for check and openapi
    lifecycle = "myapi.app:LIFECYCLE"            # for resolve, inspect, check and openapi
    lock = "changes/schema.lock.json"            # the schema lock
    title = "Payments API"                       # the OpenAPI documents' title

Every key is optional; ``timeline = "myapi.versions:engine"`` (a Timeline or
an Engine) may stand instead of ``changes``. Paths are relative to the file's directory, and that
directory comes first on the import path for ``MODULE:ATTR`` values, so the
commands give the same answers from any folder of the project. An option on
the command line always wins.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["PYPROJECT", "Config", "ConfigError", "find_config", "read_config"]

#: the file the configuration lives in
PYPROJECT = "pyproject.toml"


class ConfigError(ValueError):
    """A ``[tool.datever]`` table that cannot be used; the message names the file and key."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """The ``[tool.datever]`` table of one pyproject.toml.

    ``root`` is the file's directory: ``changes`` and ``lock`` are relative to it.
    ``timeline`` (``MODULE:ATTR``, a Timeline or Engine) replaces ``changes``.
    """

    root: Path = Path(".")
    changes: str | None = None
    timeline: str | None = None
    schemas: str | None = None
    routes: str | None = None
    lifecycle: str | None = None
    lock: str | None = None
    title: str | None = None

    def path(self, value: str) -> Path:
        """``value`` (a path from the file) as a path from the current directory."""
        return self.root / value


#: the keys a [tool.datever] table may hold
KEYS = tuple(field.name for field in dataclasses.fields(Config) if field.name != "root")


def find_config(start: Path | None = None) -> Config | None:
    """The configuration of the nearest pyproject.toml with a ``[tool.datever]`` table,
    from ``start`` (the current directory) up; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file():
            found = read_config(candidate)
            if found is not None:
                return found
    return None


def read_config(path: Path) -> Config | None:
    """The ``[tool.datever]`` table of ``path``, checked; None when it has none."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    table: Any = document.get("tool", {}).get("datever") if isinstance(
        document.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.datever] must be a table, got {table!r}")
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{path}: [tool.datever] has no key {key!r}{hint}; "
                              f"keys: {', '.join(KEYS)}")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: [tool.datever] {key} must be a non-empty string, "
                              f"got {value!r}")
    if "changes" in table and "timeline" in table:
        raise ConfigError(f"{path}: [tool.datever] changes and timeline exclude each other")
    return Config(root=path.parent, **table)
