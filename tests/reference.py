"""The reference API of ``changes/`` as the tests use it: its directory and sample payloads."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

CHANGES = Path(__file__).resolve().parent.parent / "changes"


def load_samples() -> ModuleType:
    """The seeded sample payloads, ``changes/_samples.py`` (not a change module)."""
    spec = importlib.util.spec_from_file_location("reference_samples", CHANGES / "_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
