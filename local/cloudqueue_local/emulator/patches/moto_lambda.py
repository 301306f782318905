"""moto's Lambda Invoke, answered by the local runtime.

Without Docker, moto answers Lambda ``Invoke`` from ``LambdaSimpleBackend.invoke`` with a
canned payload. While installed, every Invoke that reaches moto (from boto3 or the AWS CLI
on the local endpoint) runs the function in the ``LambdaRuntime``, with its function errors
(``X-Amz-Function-Error``) and service errors as Lambda answers them.
"""

from __future__ import annotations

from typing import Any

from cloudqueue_local.emulator.awslambda.invocation import FunctionNotFound, ServiceFault
from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.patches.seams import Patcher


class MotoLambdaInvoke:
    """Routes moto's Lambda Invoke (no-Docker backend) to ``runtime``; reversible."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        self._patcher = Patcher()

    def install(self) -> None:
        """Replace moto's canned Invoke with a call of the local runtime."""
        from moto.awslambda.exceptions import UnknownFunctionException
        from moto.core.exceptions import JsonRESTError

        runtime = self.runtime

        def invoke(  # noqa: PLR0917 - moto's signature (registry: lambda.invoke)
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            try:
                result = runtime.invoke_bytes(function_name, body)
            except FunctionNotFound:
                raise UnknownFunctionException(function_name) from None
            except ServiceFault as fault:
                error = JsonRESTError(fault.code, fault.message)
                error.code = fault.status
                raise error from None
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            return result.payload

        self._patcher.replace("lambda.invoke", invoke)

    def uninstall(self) -> None:
        """Give moto its own Invoke back."""
        self._patcher.revert()


__all__ = ["MotoLambdaInvoke"]
