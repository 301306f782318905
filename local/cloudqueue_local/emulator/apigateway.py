"""API Gateway HTTP API, locally: requests → payload format 2.0 events → ApiFunction,
and the static frontend on the same origin.

Routes come from the template (its ``AWS::ApiGatewayV2::Route`` resources, or SAM ``HttpApi``
events), with their authorization after the template's conditions: a route's JWT authorizer
(jwt_authorizer) or ``AWS_IAM`` (iam_authorizer) decides before the function runs, and answers
401/403 as API Gateway does. CORS preflights are answered from the API's
``CorsConfiguration``, before any authorizer. The page's files carry the response headers of the
template's CloudFront ``ResponseHeadersPolicy``.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from cloudqueue_local.emulator.authorization import ALLOWED, Decision
from cloudqueue_local.emulator.awslambda.invocation import ServiceFault
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.iam_authorizer import IamAuthorizer
from cloudqueue_local.emulator.jwt_authorizer import JwtAuthorizer
from cloudqueue_local.template import ACCOUNT_ID, REGION, JwtAuthorizerSpec, LocalTemplate, RouteSpec

logger = logging.getLogger("cloudqueue.local")

_TEXT_TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")


def api_gateway_event(
    request: Request, route: RouteSpec, path_parameters: dict[str, str], stage: str = "$default"
) -> dict[str, Any]:
    """The event API Gateway HTTP API (payload format 2.0) sends for ``request``."""
    body = request.get_data()
    content_type = request.headers.get("Content-Type", "")
    is_text = not body or any(content_type.startswith(kind) for kind in _TEXT_TYPES) or not content_type
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query_string.decode(), keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    route_key = f"{route.method} {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if request.cookies:
        event["cookies"] = [f"{name}={value}" for name, value in request.cookies.items()]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if is_text:
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def lambda_response(result: Any) -> Response:
    """A Lambda proxy result → an HTTP response, as API Gateway maps format 2.0 results."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _json(status: int, body: dict[str, Any]) -> Response:
    # Compact, as API Gateway writes its own answers: {"message":"Unauthorized"}.
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


class HttpGateway:
    """A WSGI app: the template's routes to the runtime, everything else to ``frontend/``."""

    def __init__(
        self,
        template: LocalTemplate,
        runtime: LambdaRuntime,
        *,
        frontend_dir: Path | None,
        config: Callable[[], dict[str, Any]],
    ) -> None:
        self.runtime = runtime
        self.routes = [(route, route.pattern()) for route in template.routes]
        self.cors = template.cors
        self.page_headers = template.page_headers
        self.jwt_authorizers: dict[JwtAuthorizerSpec, JwtAuthorizer] = {
            route.jwt: JwtAuthorizer(route.jwt) for route in template.routes if route.jwt is not None
        }
        self.iam = IamAuthorizer(region=REGION, account=ACCOUNT_ID)
        self.frontend_dir = frontend_dir.resolve() if frontend_dir else None
        self.config = config
        self.requests = 0

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    def path_exists(self, path: str) -> bool:
        return any(pattern.match(path) for _, pattern in self.routes)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        self.requests += 1
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            return self.preflight(request)
        matched = self.match(request.method, request.path)
        if matched is not None:
            route, parameters = matched
            return self.call_api(request, route, parameters)
        if request.method in ("GET", "HEAD") and not self.path_exists(request.path):
            static = self.static(request.path)
            if static is not None:
                return static
        # What API Gateway answers for a route it does not have.
        return self.with_cors(request, _json(404, {"message": "Not Found"}))

    def authorize(self, request: Request, route: RouteSpec) -> Decision:
        """The route's authorizer's decision, as API Gateway makes it before the function runs."""
        if route.jwt is not None:
            identity = route.jwt.identity_source.removeprefix("$request.header.")
            return self.jwt_authorizers[route.jwt].authorize(request.headers.get(identity), route.scopes)
        if route.authorization == "AWS_IAM":
            # The path and query as sent (before any decoding), as the caller signed them.
            environ = request.environ
            raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
            return self.iam.authorize(
                method=request.method,
                url=f"{request.scheme}://{request.host}{raw_uri}",
                headers=dict(request.headers.items()),
                body=request.get_data(),
            )
        return ALLOWED

    def call_api(self, request: Request, route: RouteSpec, parameters: dict[str, str]) -> Response:
        decision = self.authorize(request, route)
        if not decision.allowed:
            return self.with_cors(request, _json(decision.status, {"message": decision.message}))
        event = api_gateway_event(request, route, parameters)
        if decision.context is not None:
            event["requestContext"]["authorizer"] = decision.context
        try:
            invocation = self.runtime.invoke(route.function, event)
        except ServiceFault as fault:  # Lambda itself refused (throttled, failed): so does API Gateway
            logger.warning("%s not invoked on %s %s: %s", route.function, request.method, request.path, fault)
            return self.with_cors(request, _json(500, {"message": "Internal Server Error"}))
        if invocation.function_error:
            logger.error(
                "%s failed on %s %s: %s",
                route.function,
                request.method,
                request.path,
                invocation.payload.decode(errors="replace")[:4000],
            )
            return self.with_cors(request, _json(500, {"message": "Internal Server Error"}))
        return self.with_cors(request, lambda_response(invocation.json()))

    def with_cors(self, request: Request, response: Response) -> Response:
        origin = request.headers.get("Origin")
        allowed = self.cors.get("AllowOrigins") or []
        if origin and ("*" in allowed or origin in allowed):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
            exposed = self.cors.get("ExposeHeaders")
            if exposed:
                response.headers["Access-Control-Expose-Headers"] = ",".join(exposed)
        return response

    def preflight(self, request: Request) -> Response:
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ",".join(self.cors.get("AllowMethods") or ["*"])
        response.headers["Access-Control-Allow-Headers"] = ",".join(self.cors.get("AllowHeaders") or ["*"])
        if self.cors.get("MaxAge") is not None:
            response.headers["Access-Control-Max-Age"] = str(self.cors["MaxAge"])
        return self.with_cors(request, response)

    def static(self, path: str) -> Response | None:
        if path == "/config.json":
            return self.with_page_headers(_json(200, self.config()))
        if self.frontend_dir is None:
            return None
        relative = path.lstrip("/") or "index.html"
        target = (self.frontend_dir / relative).resolve()
        if not target.is_relative_to(self.frontend_dir):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".js":
            content_type = "text/javascript"
        response = Response(target.read_bytes(), status=200, content_type=content_type)
        response.headers["Cache-Control"] = "no-cache"
        return self.with_page_headers(response)

    def with_page_headers(self, response: Response) -> Response:
        """The headers CloudFront's response headers policy adds to the page's files."""
        for name, value in self.page_headers.items():
            response.headers[name] = value
        return response


class QuietRequestHandler(WSGIRequestHandler):
    """Keep-alive (HTTP/1.1) as API Gateway has, and no access log line per request."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ServerThread:
    """A threaded WSGI server on a loopback port, started and stopped from Python."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=QuietRequestHandler
        )
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() waits for serve_forever, which never started otherwise
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()
