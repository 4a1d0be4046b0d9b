"""Render payloads outside a request: webhook events and stored objects, at the receiver's version.

A webhook is rendered at the version of the endpoint that receives it (or of
the account that owns it, from its pin), as Stripe does; the result records
which version that was, so that it can be sent along (a header, an
``api_version`` field) and logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from datever.engine import Engine
from datever.errors import MigrationError
from datever.pins import PinStore
from datever.pipeline import too_deep
from datever.versions import Version

__all__ = ["Rendered", "render_event", "render_for_account"]

_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Rendered:
    """A payload rendered at one version.

    ``body`` is the JSON to send; ``version`` the name of the resolved
    version it was rendered at (``2021-05-10``, ``v1``, ``X``) and
    ``requested`` what was asked for (``2021-06-07``).
    """

    body: bytes
    version: str
    requested: str
    content_type: str = "application/json"

    def headers(self, version_header: str = "X-API-Version") -> tuple[tuple[str, str], ...]:
        """The headers to send with the body: its content type and version."""
        return (("Content-Type", self.content_type), (version_header, self.version))


def render_event(engine: Engine, payload: Mapping[str, Any] | Sequence[Any] | bytes,
                 version: str | Version, *, resource: str | None = None) -> Rendered:
    """Render a head-shaped ``payload`` (a JSON object, or its bytes) at ``version``.

    Resources are found by their discriminator at any depth, as in responses;
    ``resource`` names the root's type when it has none. Bytes that need no
    migrating are returned as they are. Raises VersionError for a version the
    timeline cannot resolve and MigrationError for a payload the transforms
    cannot handle (or that is not JSON).
    """
    resolved = version if isinstance(version, Version) else engine.resolve(version)
    if isinstance(payload, bytes | bytearray | memoryview):
        data = bytes(payload)
    else:
        try:
            data = _ENCODER.encode(payload)
        except RecursionError:
            raise too_deep(resource) from None
        except (TypeError, msgspec.EncodeError) as exc:
            raise MigrationError(f"not a JSON value: {exc}", resource=resource,
                                 reason="not_json") from exc
        except ValueError as exc:  # an int past 64 bits, say
            raise MigrationError(f"not encodable as JSON: {exc}", resource=resource,
                                 reason="not_encodable") from exc
    body = engine.down_json(data, resolved, resource=resource)
    return Rendered(body, resolved.name, resolved.requested)


def render_for_account(engine: Engine, pins: PinStore, account: str,
                       payload: Mapping[str, Any] | Sequence[Any] | bytes, *,
                       default: str | None = None, resource: str | None = None) -> Rendered:
    """Render ``payload`` at the version ``account`` is pinned to.

    An account with no pin has never made a request: it gets ``default``,
    or else the newest release (what its first request would pin it to).
    Rendering never pins: only requests do.
    """
    pin = pins.get(account)
    if pin is not None:
        version = pin.version
    elif default is not None:
        version = default
    else:
        version = engine.timeline.versions[-1]
    return render_event(engine, payload, version, resource=resource)
