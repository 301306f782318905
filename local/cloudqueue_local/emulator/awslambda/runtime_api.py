"""The Lambda Runtime API, one endpoint per execution environment.

On Lambda the runtime inside each execution environment talks to its own Runtime API
(``AWS_LAMBDA_RUNTIME_API``): it asks for the next invocation
(``GET /2018-06-01/runtime/invocation/next``, answered when there is one), then posts the
handler's result (``POST .../invocation/{requestId}/response``) or its error
(``.../{requestId}/error``); a runtime whose initialisation failed posts
``/2018-06-01/runtime/init/error`` and exits.

Here each environment gets a loopback port of its own, and the thread that invokes the
function speaks HTTP/1.1 on it directly: no server thread, no framework, one persistent
connection (the runtime interface client keeps it alive), a few system calls per
invocation. ``select.poll`` also watches the environment's process (a pidfd), so that a
runtime that dies is noticed at once, whether or not it ever connected.
"""

from __future__ import annotations

import os
import select
import socket
import time
from dataclasses import dataclass, field
from http import HTTPStatus

NEXT = "/2018-06-01/runtime/invocation/next"
INVOCATION_PREFIX = "/2018-06-01/runtime/invocation/"
INIT_ERROR = "/2018-06-01/runtime/init/error"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"

_HEADER_END = b"\r\n\r\n"
_MAX_HEADER_BYTES = 64 * 1024


class EnvironmentGone(Exception):
    """The environment's process exited (or the runtime closed its endpoint for good)."""


class ProtocolError(Exception):
    """The runtime sent something that is not an HTTP/1.1 request this API understands."""


@dataclass
class RuntimeRequest:
    """One request from the runtime, and the connection to answer it on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: _Connection = field(repr=False)

    @property
    def is_next(self) -> bool:
        return self.method == "GET" and self.path == NEXT

    def invocation_result(self) -> tuple[str, str] | None:
        """``(request id, "response" | "error")`` for a posted result, else None."""
        if self.method != "POST" or not self.path.startswith(INVOCATION_PREFIX):
            return None
        request_id, _, kind = self.path[len(INVOCATION_PREFIX) :].partition("/")
        if kind not in ("response", "error") or not request_id:
            return None
        return request_id, kind


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    continued: bool = False  # "100 Continue" already sent for the request in the buffer

    def fileno(self) -> int:
        return self.sock.fileno()


class RuntimeApiEndpoint:
    """The Runtime API of one execution environment, on a loopback port of its own."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0), backlog=4)
        self.address = f"{host}:{self._listener.getsockname()[1]}"
        self._connections: list[_Connection] = []
        self._exit_fd: int | None = None

    def watch(self, pid: int) -> None:
        """Notice the exit of process ``pid`` (the environment) while waiting for its runtime."""
        self._exit_fd = os.pidfd_open(pid)

    def close(self) -> None:
        for connection in self._connections:
            connection.sock.close()
        self._connections = []
        self._listener.close()
        if self._exit_fd is not None:
            os.close(self._exit_fd)
            self._exit_fd = None

    # --- receiving ----------------------------------------------------------------------

    def receive(self, deadline: float | None) -> RuntimeRequest:
        """The runtime's next request. ``deadline`` is a ``time.monotonic()`` instant.

        Raises ``TimeoutError`` past the deadline and ``EnvironmentGone`` once the process
        has exited and every byte it sent has been read.
        """
        while True:
            for connection in self._connections:
                request = self._parse(connection)
                if request is not None:
                    return request
            self._wait(deadline)

    def _wait(self, deadline: float | None) -> None:
        poller = select.poll()
        poller.register(self._listener, select.POLLIN)
        by_fd = {connection.fileno(): connection for connection in self._connections}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        if self._exit_fd is not None:
            poller.register(self._exit_fd, select.POLLIN)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
        events = poller.poll(timeout)
        if not events:
            raise TimeoutError
        progressed = False
        exited = False
        for fd, _ in events:
            if fd == self._exit_fd:
                exited = True
            elif fd == self._listener.fileno():
                sock, _ = self._listener.accept()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._connections.append(_Connection(sock))
                progressed = True
            else:
                connection = by_fd[fd]
                try:
                    data = connection.sock.recv(256 * 1024)
                except OSError:
                    data = b""
                if data:
                    connection.buffer += data
                    progressed = True
                else:  # closed by the runtime: it may open another one
                    connection.sock.close()
                    self._connections.remove(connection)
        if exited and not progressed:
            raise EnvironmentGone

    def _parse(self, connection: _Connection) -> RuntimeRequest | None:
        buffer = connection.buffer
        end = buffer.find(_HEADER_END)
        if end < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise ProtocolError("request headers too large")
            return None
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise ProtocolError(f"bad request line {lines[0]!r}") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + len(_HEADER_END)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            decoded = _dechunk(buffer, start)
            if decoded is None:
                self._continue(connection, headers)
                return None
            body, consumed = decoded
        else:
            length = int(headers.get("content-length") or 0)
            if len(buffer) - start < length:
                self._continue(connection, headers)
                return None
            body, consumed = bytes(buffer[start : start + length]), start + length
        del buffer[:consumed]
        connection.continued = False
        return RuntimeRequest(method, target.split("?", 1)[0], headers, body, connection)

    @staticmethod
    def _continue(connection: _Connection, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue" and not connection.continued:
            connection.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            connection.continued = True

    # --- answering ----------------------------------------------------------------------

    def answer(
        self,
        request: RuntimeRequest,
        status: HTTPStatus,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        head = [f"HTTP/1.1 {status.value} {status.phrase}"]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}")
        head.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            request.connection.sock.sendall(message)
        except OSError as error:
            raise EnvironmentGone from error

    def accepted(self, request: RuntimeRequest) -> None:
        self.answer(request, HTTPStatus.ACCEPTED, b'{"status":"OK"}', {"Content-Type": "application/json"})

    def refuse(self, request: RuntimeRequest, status: HTTPStatus, error_type: str, message: str) -> None:
        body = f'{{"errorType":"{error_type}","errorMessage":"{message}"}}'.encode()
        self.answer(request, status, body, {"Content-Type": "application/json"})


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body starting at ``start``: ``(body, end offset)``, or None while incomplete."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0], 16)
        chunk_start = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", chunk_start)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        body += buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2
