"""CloudFormation's short form ``!Condition X`` (inside Fn::Or/And/Not) is read as the long
form ``{"Condition": "X"}``, and a condition built from others is evaluated."""

from __future__ import annotations

from pathlib import Path

from cloudqueue_local.template import load_template
from cloudqueue_local.template.cfn_yaml import read_template

TEMPLATE = """
Parameters:
  A: {Type: String, Default: "off"}
  B: {Type: String, Default: "off"}
Conditions:
  AOn: !Equals [!Ref A, "on"]
  BOn: !Equals [!Ref B, "on"]
  Either: !Or [!Condition AOn, !Condition BOn]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Condition: Either
"""


def test_a_condition_of_conditions_is_read_in_the_long_form_and_evaluated(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)

    assert read_template(path)["Conditions"]["Either"] == {
        "Fn::Or": [{"Condition": "AOn"}, {"Condition": "BOn"}]
    }
    assert "Queue" not in load_template(path).resource_types
    assert "Queue" in load_template(path, {"B": "on"}).resource_types
