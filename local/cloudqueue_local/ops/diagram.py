"""``diagrams/architecture.{dot,svg,png}``, drawn from template.yaml with Graphviz's ``dot``.

Every resource of the template is a node, except those folded into another node (``FOLDED``:
IAM roles, policies and log groups belong to what they serve). Edges come from the template:
an event of a function, a Pipe's source and target, a state machine's substitutions, a queue's
redrive policy, and the references a function's environment makes. ``make diagram`` redraws
them; tests/unit/test_diagram.py fails when the committed graph is not what this script
draws from the current template, or when the SVG lacks a resource.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cloudqueue_local.template import read_template

# Resources drawn inside another node, and why.
FOLDED: dict[str, str] = {
    "PipeRole": "JobPipe",  # the Pipe's permissions
    "EventsPipeRole": "EventsPipe",
    "SchedulerRole": "JobScheduleGroup",  # what delayed jobs' schedules may do: send to the queue
    "FrontendBucketPolicy": "FrontendBucket",  # who may read the page
    "FrontendOriginAccessControl": "FrontendDistribution",  # how CloudFront signs its reads
    "PageHeadersPolicy": "FrontendDistribution",  # the page's security headers
    # The optional sign-in (CreateUserPool): the pool's scopes, the page's client, its login
    "UserPoolScopes": "UserPool",
    "PageClient": "UserPool",
    "UserPoolDomain": "UserPool",
    "PageClientLoginStyle": "UserPool",
}
FOLDED_TYPES = {
    "AWS::Logs::LogGroup",  # a function's logs: drawn as the function (the history log is kept)
    # The HTTP API's parts (its stage, routes, integration, authorizer, permission to invoke)
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::Lambda::Permission",
    # The functions' layer: their libraries, packaging rather than a part of the flow
    "AWS::Serverless::LayerVersion",
}
KEEP_LOG_GROUPS = {"ExecutionLogGroup"}

SHAPES = {
    "AWS::Serverless::Function": ("box", "#fdebd0", "Lambda"),
    "AWS::DynamoDB::Table": ("cylinder", "#d6eaf8", "DynamoDB"),
    "AWS::SQS::Queue": ("box3d", "#fadbd8", "SQS"),
    "AWS::Pipes::Pipe": ("cds", "#e8daef", "EventBridge Pipe"),
    "AWS::Scheduler::ScheduleGroup": ("cds", "#e8daef", "EventBridge Scheduler"),
    "AWS::Serverless::StateMachine": ("component", "#f9e79f", "Step Functions Express"),
    "AWS::Serverless::HttpApi": ("house", "#d5f5e3", "API Gateway HTTP API"),
    "AWS::ApiGatewayV2::Api": ("house", "#d5f5e3", "API Gateway HTTP API"),
    "AWS::Cognito::UserPool": ("box", "#fcf3cf", "Cognito user pool (optional)"),
    "AWS::Logs::LogGroup": ("note", "#eaeded", "CloudWatch Logs"),
    "AWS::CloudWatch::Alarm": ("octagon", "#f5b7b1", "CloudWatch alarm"),
    "AWS::Budgets::Budget": ("octagon", "#f5b7b1", "Budget (optional)"),
    "AWS::CloudWatch::Dashboard": ("tab", "#eaeded", "CloudWatch dashboard"),
    "AWS::S3::Bucket": ("folder", "#d6eaf8", "S3 (DeployFrontend)"),
    "AWS::CloudFront::Distribution": ("ellipse", "#d5f5e3", "CloudFront (DeployFrontend)"),
}


def drawn_resources(document: dict[str, Any]) -> dict[str, str]:
    """Logical id -> type of every resource the picture shows."""
    return {
        name: resource["Type"]
        for name, resource in document["Resources"].items()
        if name not in FOLDED and (resource["Type"] not in FOLDED_TYPES or name in KEEP_LOG_GROUPS)
    }


def _refs(value: Any) -> set[str]:
    """Logical ids a property value refers to (Ref, GetAtt, ${...} in Sub)."""
    text = json.dumps(value)
    found: set[str] = set()
    for token in ('"Ref": "', '"Fn::GetAtt": ["'):
        for part in text.split(token)[1:]:
            found.add(part.split('"', 1)[0])
    for part in text.split("${")[1:]:
        found.add(part.split("}", 1)[0].split(".", 1)[0])
    return found


def edges(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    resources = document["Resources"]
    shown = drawn_resources(document)
    found: list[tuple[str, str, str]] = []
    for name, resource in resources.items():
        properties = resource.get("Properties") or {}
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            for event in (properties.get("Events") or {}).values():
                source = event["Type"]
                target = _refs(event.get("Properties", {})) & set(shown)
                label = {"HttpApi": "routes", "SQS": "trigger", "Schedule": "schedule"}.get(source, source)
                if source == "Schedule":
                    found.append(
                        ("Schedule", name, _parameter_default(document, event["Properties"]["Schedule"]))
                    )
                found += [(origin, name, label) for origin in sorted(target)]
            # What its policies let it touch: the table, a queue, the history, the workflow.
            touched = _refs(properties.get("Policies")) & set(shown)
            found += [(name, target, "") for target in sorted(touched) if target != name]
        elif kind == "AWS::ApiGatewayV2::Integration":
            found.append(
                (properties["ApiId"]["Ref"], properties["IntegrationUri"]["Fn::GetAtt"][0], "routes")
            )
        elif kind == "AWS::ApiGatewayV2::Authorizer":
            trusted = _refs(properties.get("JwtConfiguration")) & set(shown)
            found += [(properties["ApiId"]["Ref"], each, "JWT keys") for each in sorted(trusted)]
        elif kind == "AWS::Scheduler::ScheduleGroup":
            # Its schedules are made at run time (delayed jobs); their target is the job queue.
            found += [(name, "JobQueue", "SendMessage when due")] if "JobQueue" in shown else []
        elif kind == "AWS::Pipes::Pipe":
            found += _pipe_edges(name, properties)
        elif kind == "AWS::Serverless::StateMachine":
            found += [
                (name, each, "invoke")
                for each in sorted(_refs(properties.get("DefinitionSubstitutions")) & set(shown))
            ]
            found += [
                (name, each, "history") for each in sorted(_refs(properties.get("Logging")) & set(shown))
            ]
        elif kind == "AWS::SQS::Queue" and "RedrivePolicy" in properties:
            dead_letters = _refs(properties["RedrivePolicy"]) & set(shown)
            found += [(name, each, "after maxReceiveCount") for each in sorted(dead_letters)]
        elif kind == "AWS::CloudFront::Distribution":
            found += [(name, each, "OAC") for each in sorted(_refs(properties) & set(shown)) if each != name]
    return list(dict.fromkeys(found))


def _pipe_edges(name: str, properties: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A Pipe's source, its enrichment, and its target (the workflow, or the event bus)."""
    stream = "DynamoDBStreamParameters" in (properties.get("SourceParameters") or {})
    found = [(properties["Source"]["Fn::GetAtt"][0], name, "stream" if stream else "BatchSize 1")]
    if "Enrichment" in properties:
        found.append((name, properties["Enrichment"]["Fn::GetAtt"][0], "enrich"))
    if isinstance(properties["Target"], dict) and "Ref" in properties["Target"]:
        found.append((name, properties["Target"]["Ref"], "StartSyncExecution"))
    else:  # the event bus (EventBusName): the account's, not the stack's
        found.append((name, "EventBus", "PutEvents"))
    return found


def _parameter_default(document: dict[str, Any], value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(document["Parameters"][value["Ref"]].get("Default", value["Ref"]))
    return str(value)


def to_dot(document: dict[str, Any]) -> str:
    lines = [
        "digraph CloudQueue {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.5];',
        '  node [fontname="Helvetica", fontsize=10, style=filled];',
        '  edge [fontname="Helvetica", fontsize=8, color="#566573"];',
        '  Clients [label="Browser / CLI / curl", shape=plaintext, style=""];',
        '  Schedule [label="EventBridge schedule", shape=plaintext, style=""];',
        '  EventBus [label="EventBridge bus (EventBusName)\\nJob State Change", shape=plaintext, style=""];',
        '  Clients -> HttpApi [label="HTTPS"];',
        '  Clients -> FrontendDistribution [label="the page"];',
    ]
    for name, kind in drawn_resources(document).items():
        shape, colour, service = SHAPES.get(kind, ("box", "#ffffff", kind))
        lines.append(f'  {name} [label="{name}\\n{service}", shape={shape}, fillcolor="{colour}"];')
    for source, target, label in edges(document):
        lines.append(f'  {source} -> {target} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(template: Path, out_dir: Path) -> list[Path]:
    """Write architecture.svg and architecture.png beside each other; returns their paths."""
    source = to_dot(read_template(template))
    out_dir.mkdir(parents=True, exist_ok=True)
    dot_file = out_dir / "architecture.dot"
    dot_file.write_text(source)
    written = [dot_file]
    for fmt in ("svg", "png"):
        path = out_dir / f"architecture.{fmt}"
        subprocess.run(["dot", f"-T{fmt}", "-o", str(path), str(dot_file)], check=True)  # noqa: S603, S607
        written.append(path)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path in draw(root / "template.yaml", root / "diagrams"):
        print(path)
