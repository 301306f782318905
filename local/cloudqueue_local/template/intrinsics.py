"""CloudFormation's intrinsic functions, evaluated locally: parameters (with local values),
pseudo parameters, ``Conditions``, and Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select,
Fn::Split and Fn::If against the local physical names. Any other function is an error, not a
silent difference."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from cloudqueue_local.template.specs import TemplateError


def resolve_parameters(document: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Each declared parameter's value: its override, else its Default, checked against AllowedValues."""
    values: dict[str, str] = {}
    for name, declaration in (document.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif "Default" in declaration:
            values[name] = str(declaration["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default and no local value")
        allowed = declaration.get("AllowedValues")
        if allowed and values[name] not in [str(option) for option in allowed]:
            raise TemplateError(f"parameter {name}={values[name]!r} is not one of {allowed}")
    unknown = set(overrides) - set(values)
    if unknown:
        raise TemplateError(f"no such template parameters: {', '.join(sorted(unknown))}")
    return values


class Resolver:
    """Evaluates intrinsic functions against parameters and local physical ids."""

    def __init__(
        self, document: dict[str, Any], parameters: dict[str, str], region: str, account: str, stack_name: str
    ) -> None:
        self.document = document
        self.resources: dict[str, Any] = document["Resources"]
        self.region = region
        self.account = account
        self.stack_name = stack_name
        self.parameters = parameters
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function in it evaluated."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = self._intrinsics.get(key)
            if intrinsic is not None:
                return intrinsic(self, argument)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"the local stack does not evaluate {key}")
        return {key: self.resolve(inner) for key, inner in value.items()}

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return self.get_att(logical_id, attribute)

    def _join(self, argument: Any) -> str:
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        chosen, values = int(self.resolve(index)), self.resolve(items)
        if not 0 <= chosen < len(values):  # CloudFormation refuses it too
            raise TemplateError(f"Fn::Select index {chosen} is outside {values!r}")
        return values[chosen]

    def _split(self, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(separator)

    def _if(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(condition)) else when_false)

    def condition(self, name: str) -> bool:
        """A named entry of the template's ``Conditions``, evaluated."""
        conditions = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"no condition {name!r}")
        return self._truth(conditions[name])

    def _truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(str(argument))
        if function == "Fn::Equals":
            left, right = (str(self.resolve(side)) for side in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(inner) for inner in argument)
        if function == "Fn::Or":
            return any(self._truth(inner) for inner in argument)
        raise TemplateError(f"the local stack does not evaluate {function} in a condition")

    _intrinsics: ClassVar[dict[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": lambda self, argument: self.ref(str(argument)),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": lambda self, argument: self.sub(argument),
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::If": _if,
    }

    def sub(self, argument: Any) -> str:
        """Fn::Sub: ``${Name}`` and ``${Resource.Attribute}`` replaced, ``${!Literal}`` kept."""
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved_vars = {name: self.resolve(inner) for name, inner in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved_vars:
                return str(resolved_vars[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def ref(self, name: str) -> Any:
        """Ref: a pseudo parameter, a parameter, or a resource's local physical id."""
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.physical(name)["Ref"]
        raise TemplateError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """Fn::GetAtt: one attribute of a resource, as the local stack names it."""
        attributes = self.physical(logical_id)
        if attribute not in attributes:
            raise TemplateError(f"the local stack has no {logical_id}.{attribute}")
        return attributes[attribute]

    def physical_name(self, logical_id: str, name_property: str | None) -> str:
        """The name a resource sets in ``name_property``, else ``<stack name>-<logical id>``."""
        properties = self.resources[logical_id].get("Properties") or {}
        if name_property and name_property in properties:
            return str(self.resolve(properties[name_property]))
        return f"{self.stack_name}-{logical_id}"

    def physical(self, logical_id: str) -> dict[str, Any]:
        """What Ref and Fn::GetAtt give for a resource, locally."""
        kind = self.resources[logical_id]["Type"]
        describe = _PHYSICAL.get(kind)
        if describe is None:
            return {"Ref": f"{self.stack_name}-{logical_id}"}
        name_property, build = describe
        name = self.physical_name(logical_id, name_property)
        return build(name, self.region, self.account)


def _queue(name: str, region: str, account: str) -> dict[str, Any]:
    url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
    return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": f"arn:aws:sqs:{region}:{account}:{name}"}


def _state_machine(name: str, region: str, account: str) -> dict[str, Any]:
    arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
    return {"Ref": arn, "Arn": arn, "Name": name}


def _function(name: str, region: str, account: str) -> dict[str, Any]:
    return {"Ref": name, "Arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}


# How Ref and Fn::GetAtt read for one resource kind: (name, region, account) -> attributes.
_Describe = Callable[[str, str, str], dict[str, Any]]

# Resource type → (the property that names it, how Ref and GetAtt read locally).
_PHYSICAL: dict[str, tuple[str | None, _Describe]] = {
    "AWS::DynamoDB::Table": (
        "TableName",
        lambda name, region, account: {
            "Ref": name,
            "Arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            # Its label is a time DynamoDB picks; the local Pipe finds the table's stream by name.
            "StreamArn": f"arn:aws:dynamodb:{region}:{account}:table/{name}/stream/local",
        },
    ),
    "AWS::SQS::Queue": ("QueueName", _queue),
    "AWS::Serverless::Function": ("FunctionName", _function),
    "AWS::Lambda::Function": ("FunctionName", _function),
    "AWS::Serverless::StateMachine": ("Name", _state_machine),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", _state_machine),
    "AWS::Logs::LogGroup": (
        "LogGroupName",
        lambda name, region, account: {
            "Ref": name,
            "Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
        },
    ),
    "AWS::IAM::Role": (
        "RoleName",
        lambda name, region, account: {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"},
    ),
    # A secret's ARN ends in a suffix Secrets Manager picks; locally Ref gives its name, which
    # GetSecretValue takes as well.
    "AWS::SecretsManager::Secret": ("Name", lambda name, region, account: {"Ref": name, "Id": name}),
    "AWS::Scheduler::ScheduleGroup": (
        "Name",
        lambda name, region, account: {
            "Ref": name,
            "Arn": f"arn:aws:scheduler:{region}:{account}:schedule-group/{name}",
        },
    ),
    "AWS::Serverless::HttpApi": (None, lambda name, region, account: {"Ref": "local"}),
    "AWS::ApiGatewayV2::Api": (None, lambda name, region, account: {"Ref": "local"}),
}
