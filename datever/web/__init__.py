"""Serving HTTP at each client's version: per-request decisions, routes, ASGI and WSGI.

:mod:`~datever.web.versioning` decides what to do with one request, with no
web framework in sight; :mod:`~datever.web.routing` says which request
resource an endpoint's body is and applies endpoint-level changes;
:mod:`~datever.web.asgi` and :mod:`~datever.web.wsgi` are the middlewares.
Most services need none of them directly: :class:`datever.API` builds them.
"""
