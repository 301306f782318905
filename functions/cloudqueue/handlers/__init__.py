"""Thin Lambda handlers: parse the event, call one domain function, shape the answer.

Every handler gets its dependencies the same way:

- ``settings()``: the function's typed settings (``cloudqueue.settings``), read once (cached);
- ``default_<port>()``: the real AWS adapter of each port, built on first use, once per
  container (cached);
- ``handler(event, context, *, <port>=None, ...)``: the ports as optional keyword
  arguments; a port not given is the default one. Tests and the local stack hand in what
  they need without patching.

The API's routes reach the ports handed to ``handler`` through the resolver's per-event
context, which it shares with its routers (``api_ports``: ``store_of(context)``...).
``http_errors`` and ``http_body`` are the API's error answers and raw-body guard;
``schedule_routes`` and ``batch_routes`` are routers the API includes.
"""

from __future__ import annotations

import warnings

# A request that adds no metric (a GET, a failed claim) is normal; Powertools warns about it.
warnings.filterwarnings("ignore", message="No application metrics to publish")
