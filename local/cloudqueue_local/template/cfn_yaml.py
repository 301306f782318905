"""CloudFormation's YAML: the short-form tags (``!Ref``, ``!GetAtt``, ``!Sub``...) read as the
long form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), as CloudFormation itself does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cloudqueue_local.template.specs import TemplateError

# libyaml's loader when PyYAML has it: the pure-Python one takes most of a template load.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SHORT_FORM_TAGS = (
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Base64",
    "Cidr",
    "ImportValue",
    "GetAZs",
    "Condition",
)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    pass


def _tag_constructor(tag: str) -> Any:
    # Ref and Condition have no Fn:: in the long form (``!Condition X`` is ``{"Condition": "X"}``).
    name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in SHORT_FORM_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def read_template(path: Path) -> dict[str, Any]:
    """The template at ``path`` as a document, its short-form tags in the long form."""
    with path.open() as handle:
        document = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document
