"""A small payments service serving the reference API of ``changes/`` at every version.

Run it from the repository root with ``python -m examples.payments``; build
the ASGI app with :func:`create_app`.
"""

from examples.payments.app import PaymentsApp, create_app

__all__ = ["PaymentsApp", "create_app"]
