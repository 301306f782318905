"""Every change the local stack makes to moto, installed and removed together.

One object per patched part of moto (``moto_lambda``, ``moto_stepfunctions``, ``moto_sqs``,
``moto_core``, ``moto_dynamodb``), each taking its targets from ``registry``. ``install``
applies them in that order and ``uninstall`` removes them in the reverse one, leaving moto
as it was; ``with MotoPatches(runtime):`` does both.
"""

from __future__ import annotations

from typing import Protocol

from cloudqueue_local.emulator.awslambda.runtime import LambdaRuntime
from cloudqueue_local.emulator.patches.moto_core import MotoCore
from cloudqueue_local.emulator.patches.moto_dynamodb import MotoDynamoDb
from cloudqueue_local.emulator.patches.moto_lambda import MotoLambdaInvoke
from cloudqueue_local.emulator.patches.moto_sqs import SqsSpeedups
from cloudqueue_local.emulator.patches.moto_stepfunctions import MotoStepFunctions


class Patch(Protocol):
    """One reversible change to a library."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


class MotoPatches:
    """The stack's changes to moto: Lambda Invoke and Lambda tasks to ``runtime``, Step
    Functions as Express, SQS at a constant cost per message, DynamoDB isolated."""

    def __init__(self, runtime: LambdaRuntime | None = None) -> None:
        self.dynamodb = MotoDynamoDb()  # its lock and write count serve the state dir
        self.parts: list[Patch] = [
            *([MotoLambdaInvoke(runtime)] if runtime is not None else []),
            MotoStepFunctions(runtime),
            SqsSpeedups(),
            MotoCore(),
            self.dynamodb,
        ]
        self._installed: list[Patch] = []

    def install(self) -> None:
        """Apply every part; if one fails, what was applied is removed again."""
        try:
            for part in self.parts:
                self._installed.append(part)  # first: a part that fails halfway reverts its half
                part.install()
        except BaseException:
            self.uninstall()
            raise

    def uninstall(self) -> None:
        """Remove every applied part, last first (a no-op when none is applied)."""
        while self._installed:
            self._installed.pop().uninstall()

    def __enter__(self) -> MotoPatches:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


__all__ = ["MotoPatches", "Patch"]
