"""The facts of ``template.yaml`` the bill depends on, read with the project's template reader
at the deployed parameter defaults (not the local stack's shortened ones)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudqueue_local.template import LocalTemplate, StateMachineSpec, load_template
from cloudqueue_local.template.cfn_yaml import read_template
from cloudqueue_local.template.intrinsics import Resolver

# Lambda's defaults when a function has no LoggingConfig: plain text, every platform line.
DEFAULT_LOGGING = {"LogFormat": "Text", "SystemLogLevel": "INFO"}


@dataclass(frozen=True)
class Stack:
    """The stack a template describes, as the bill asks about it."""

    template: LocalTemplate
    root: Path  # the template's folder: the page's files are read from beside it
    # Each function's LoggingConfig (Globals merged in, parameters resolved): the local
    # template reader keeps only what the local stack runs, and Lambda's log controls are not.
    logging: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, overrides: dict[str, str] | None = None) -> Stack:
        """The stack of the template at ``path``, ``overrides`` applied to its parameters."""
        template = load_template(path, overrides)
        document = read_template(path)
        resolver = Resolver(document, template.parameters, "us-east-1", "123456789012", "cloudqueue")
        globals_ = ((document.get("Globals") or {}).get("Function") or {}).get("LoggingConfig") or {}
        logging = {
            name: DEFAULT_LOGGING
            | resolver.resolve(globals_)
            | resolver.resolve(document["Resources"][name]["Properties"].get("LoggingConfig") or {})
            for name in template.functions
        }
        return cls(template, path.parent, logging)

    def logging_config(self, logical_id: str) -> dict[str, Any]:
        """A function's LoggingConfig as Lambda applies it: LogFormat, SystemLogLevel, ApplicationLogLevel."""
        return self.logging.get(logical_id, DEFAULT_LOGGING)

    def log_level(self, logical_id: str) -> str:
        """The level a function's Powertools logger writes at (POWERTOOLS_LOG_LEVEL, else INFO)."""
        environment = self.template.functions[logical_id].environment
        return str(environment.get("POWERTOOLS_LOG_LEVEL") or environment.get("LOG_LEVEL") or "INFO").upper()

    def memory_gb(self, logical_id: str) -> float:
        """A function's memory in GB, as Lambda bills its GB-seconds."""
        return self.template.functions[logical_id].memory / 1024

    def architecture(self, logical_id: str) -> str:
        """A function's architecture (arm64 or x86_64), which picks its GB-second price."""
        return self.template.functions[logical_id].architecture

    def tracing_active(self, logical_id: str) -> bool:
        """Whether X-Ray traces a function's invocations."""
        return self.template.functions[logical_id].tracing == "Active"

    def state_machine(self) -> StateMachineSpec:
        """The one state machine the jobs run through."""
        ((_, spec),) = self.template.state_machines.items()
        return spec

    def definition(self) -> dict[str, Any]:
        """The state machine's definition (ASL), its substitutions made."""
        definition: dict[str, Any] = json.loads(self.state_machine().definition)
        return definition

    def table(self) -> dict[str, Any]:
        """The jobs table's properties (indexes, point-in-time recovery)."""
        ((_, spec),) = self.template.tables.items()
        return spec.properties

    def log_retention_days(self, logical_id: str) -> float | None:
        """Days a function's log group keeps its logs; None when Lambda creates it (forever)."""
        wanted = f"/aws/lambda/{self.template.functions[logical_id].name}"
        for group in self.template.log_groups.values():
            if group.name == wanted:
                return float(group.retention_days) if group.retention_days is not None else None
        return None

    def count(self, resource_type: str) -> int:
        """How many resources of ``resource_type`` the stack creates."""
        return sum(1 for kind in self.template.resource_types.values() if kind == resource_type)

    def frontend_files(self) -> list[Path]:
        """What docs/deploying.md#the-demo-page syncs to the bucket: the folder but its screenshots and
        the local ``config.json`` (the deploy writes its own, of a few bytes, beside them)."""
        folder = self.root / "frontend"
        return sorted(
            path
            for path in folder.rglob("*")
            if path.is_file() and path.suffix != ".png" and path.name != "config.json"
        )

    def parameter(self, name: str, default: float = 0) -> float:
        """A numeric template parameter's value."""
        return float(self.template.parameters.get(name, default))

    def list_shards(self) -> float:
        """The listing index's shards: ListShards, or StatusShards before it was renamed."""
        parameters = self.template.parameters
        return float(parameters.get("ListShards") or parameters.get("StatusShards") or 1)

    def table_key(self) -> str:
        """Which KMS key encrypts the table: "owned" (AWS owned, free), "managed" (aws/dynamodb,
        billed per request) or "customer" (a customer managed key: per request and per month)."""
        sse = self.table().get("SSESpecification") or {}
        if sse.get("SSEEnabled") is not True:
            return "owned"
        key = str(sse.get("KMSMasterKeyId") or "")
        return "customer" if key and key != "alias/aws/dynamodb" else "managed"
