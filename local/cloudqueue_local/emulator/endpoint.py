"""The local AWS endpoint: moto's server, on a loopback port, over the stack's own backends.

Every function environment reaches the AWS APIs here (``AWS_ENDPOINT_URL``), as do the
AWS CLI and boto3 with ``--endpoint-url``. It serves the same in-memory backends the
stack's own code uses in-process (moto's backends are process-wide), with chaos faults
(``chaos.AwsFaultMiddleware``) in front for the functions' calls.
"""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from cloudqueue_local.emulator.awslambda.environment import ACCESS_KEY_PREFIX
from cloudqueue_local.emulator.faults import AwsFaultMiddleware, Chaos


def is_function_key(access_key: str) -> bool:
    return access_key.startswith(ACCESS_KEY_PREFIX)


class AwsEndpoint:
    """moto's WSGI application (as ``moto_server`` builds it), served by a threaded server."""

    def __init__(self, host: str, port: int, chaos: Chaos) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        class QuietHandler(MotoRequestHandler):
            """Keep-alive (HTTP/1.1), and no access-log line per call."""

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

        app: Any = AwsFaultMiddleware(DomainDispatcherApplication(create_backend_app), chaos, is_function_key)
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=QuietHandler
        )
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.host = host
        self.port = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="aws-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        """The endpoint's address (on loopback when it listens on every interface)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
