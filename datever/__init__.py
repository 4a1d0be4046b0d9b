"""datever: Stripe-style date-versioned APIs.

Service code is written against the newest shape; each breaking change is a
dated module in ``changes/`` that says how old requests go up and new
responses go down. The engine resolves a client's version, compiles the
chain of transforms into one cached function and runs it on every payload.
"""

from datever.changes import Change, load_changes
from datever.classify import change_is_retroactive, classify, is_breaking
from datever.context import NoVersionError, current_version, includes, using_version
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
from datever.errors import AccessError, ChangeError, DateverError, MigrationError, VersionError
from datever.groups import FeatureGroups, GroupRoute
from datever.interpreter import reference_down, reference_up
from datever.lifecycle import (
    Lifecycle,
    Policy,
    ReleaseLifecycle,
    Signals,
    Status,
    Violation,
    check_policies,
    deprecation_value,
    http_date,
)
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
from datever.pins import MemoryPinStore, Pin, PinError, PinStore, SQLitePinStore, dated_order
from datever.pipeline import Pipeline
from datever.resources import Resource
from datever.selection import Selection, VersionSelector
from datever.versions import Requested, Timeline, Version, parse_version
from datever.web.asgi import VersioningMiddleware
from datever.web.versioning import Proceed, Reply, Routes, Versioning
from datever.web.wsgi import VersioningWSGIMiddleware
from datever.webhooks import Rendered, render_event, render_for_account

__all__ = [
    "AccessError",
    "Change",
    "ChangeError",
    "DateverError",
    "Engine",
    "FeatureGroups",
    "GroupRoute",
    "Lifecycle",
    "MemoryPinStore",
    "MigrationError",
    "NoVersionError",
    "Operation",
    "Pin",
    "PinError",
    "PinStore",
    "Pipeline",
    "Policy",
    "Proceed",
    "ReleaseLifecycle",
    "Rendered",
    "Reply",
    "Requested",
    "Resource",
    "Routes",
    "SQLitePinStore",
    "Selection",
    "Signals",
    "Status",
    "Timeline",
    "Version",
    "VersionError",
    "VersionSelector",
    "Versioning",
    "VersioningMiddleware",
    "VersioningWSGIMiddleware",
    "Violation",
    "add",
    "add_endpoint",
    "add_header",
    "add_param",
    "change_error_format",
    "change_is_retroactive",
    "change_limit",
    "change_sort_order",
    "change_status",
    "check_policies",
    "classify",
    "collapse",
    "convert",
    "current_version",
    "custom",
    "dated_order",
    "deprecation_value",
    "http_date",
    "includes",
    "is_breaking",
    "load_changes",
    "map_values",
    "move",
    "parse_version",
    "reference_down",
    "reference_up",
    "remove",
    "remove_endpoint",
    "rename",
    "rename_endpoint",
    "rename_param",
    "render_event",
    "render_for_account",
    "reorder_properties",
    "using_version",
]
