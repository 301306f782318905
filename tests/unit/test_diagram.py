"""diagrams/architecture.*: drawn from template.yaml, so the picture cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from cloudqueue_local.ops import diagram
from cloudqueue_local.template import read_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = read_template(ROOT / "template.yaml")


def test_every_resource_of_the_template_is_drawn_or_folded_into_a_drawn_node() -> None:
    # Given the template's resources and the picture's nodes
    drawn = diagram.drawn_resources(TEMPLATE)
    folded = {name for name in TEMPLATE["Resources"] if name not in drawn}

    # Then each one left out is folded on purpose: by name into a drawn node, or by type (logs, layer)
    by_name = {name for name in folded if diagram.FOLDED.get(name) in drawn}
    by_type = {name for name in folded if TEMPLATE["Resources"][name]["Type"] in diagram.FOLDED_TYPES}
    assert folded == by_name | by_type


def test_the_committed_svg_names_every_drawn_resource() -> None:
    # Given the committed SVG  Then every drawn resource's logical id appears in it
    svg = (ROOT / "diagrams" / "architecture.svg").read_text()
    missing = [name for name in diagram.drawn_resources(TEMPLATE) if f">{name}</text>" not in svg]
    assert missing == [], "run `make diagram` and commit diagrams/"


def test_the_committed_graph_is_what_the_script_draws_from_the_template() -> None:
    # Given the committed Graphviz source  When the script draws the current template
    committed = (ROOT / "diagrams" / "architecture.dot").read_text()

    # Then they are the same graph (run `make diagram` after changing the template)
    assert diagram.to_dot(TEMPLATE) == committed


def test_a_new_resource_makes_the_committed_drawing_stale() -> None:
    # Given the template with one more queue
    grown = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"], "AuditQueue": {"Type": "AWS::SQS::Queue"}}}

    # Then the script draws it, and the committed graph no longer matches
    assert "AuditQueue" in diagram.drawn_resources(grown)
    assert diagram.to_dot(grown) != (ROOT / "diagrams" / "architecture.dot").read_text()
