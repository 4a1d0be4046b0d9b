"""datever: Stripe-style date-versioned APIs.

Service code is written against the newest shape; each breaking change is a
dated module in ``changes/`` that says how old requests go up and new
responses go down. The engine resolves a client's version, compiles the
chain of transforms into one cached function and runs it on every payload.

The names here are what a service (:class:`API`), a change author
(:class:`Change` and its operations) and a test author (:class:`Engine`,
the reference interpreter) need; everything else is importable from its
module (``datever.lifecycle``, ``datever.web.versioning``...).
"""

from datever.api import API, APIGroups
from datever.changes import Change
from datever.context import current_version, includes, using_version
from datever.endpoints import (
    add_endpoint,
    add_header,
    add_param,
    change_error_format,
    change_limit,
    change_sort_order,
    change_status,
    remove_endpoint,
    rename_endpoint,
    rename_param,
    reorder_properties,
)
from datever.engine import Engine
from datever.errors import ChangeError, DateverError, MigrationError, VersionError
from datever.interpreter import reference_down, reference_up
from datever.lifecycle import ReleaseLifecycle
from datever.operations import (
    Operation,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    remove,
    rename,
)
from datever.pins import MemoryPinStore, PinError, SQLitePinStore
from datever.resources import Resource
from datever.schemas import Schemas
from datever.versions import Version

__all__ = [
    "API",
    "APIGroups",
    "Change",
    "ChangeError",
    "DateverError",
    "Engine",
    "MemoryPinStore",
    "MigrationError",
    "Operation",
    "PinError",
    "ReleaseLifecycle",
    "Resource",
    "SQLitePinStore",
    "Schemas",
    "Version",
    "VersionError",
    "add",
    "add_endpoint",
    "add_header",
    "add_param",
    "change_error_format",
    "change_limit",
    "change_sort_order",
    "change_status",
    "collapse",
    "convert",
    "current_version",
    "custom",
    "includes",
    "map_values",
    "move",
    "reference_down",
    "reference_up",
    "remove",
    "remove_endpoint",
    "rename",
    "rename_endpoint",
    "rename_param",
    "reorder_properties",
    "using_version",
]
