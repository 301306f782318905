"""The operations dashboard, provisioned by the local stack from template.yaml and read back on
its AWS endpoint as an operator's tools would read it on AWS."""

from __future__ import annotations

from cloudqueue_local.devtools.stack import LocalStack
from tests.local.test_end_to_end import aws
from tests.unit.test_template_operations import dashboard_metrics


def test_the_local_stack_has_the_dashboard_and_its_widgets_name_its_real_resources(
    local_stack: LocalStack,
) -> None:
    # Given the dashboard as the local stack's CloudWatch answers it
    template = local_stack.template
    ((_, spec),) = template.dashboards.items()
    cloudwatch = aws(local_stack, "cloudwatch")
    assert spec.name in [each["DashboardName"] for each in cloudwatch.list_dashboards()["DashboardEntries"]]
    body = cloudwatch.get_dashboard(DashboardName=spec.name)["DashboardBody"]

    # Then every dimension it names is a resource of this stack, under its local name
    named = {(namespace, value) for _, namespace, _, value, _ in dashboard_metrics(body)}
    queues = {queue.name for queue in template.queues.values()}
    functions = {function.name for function in template.functions.values()}
    machines = {machine.arn for machine in template.state_machines.values()}
    services = {function.environment["POWERTOOLS_SERVICE_NAME"] for function in template.functions.values()}
    for namespace, value in named:
        expected = {
            "AWS/SQS": queues,
            "AWS/Lambda": functions,
            "AWS/States": machines,
            "CloudQueue": services,
        }
        assert value in expected[namespace], (namespace, value)
    # and it shows the job queue, the three queues' depths, the workflow and the three steps
    assert {template.queues[name].name for name in ("JobQueue", "DeadLetterQueue", "PoisonMessageQueue")} <= {
        value for namespace, value in named if namespace == "AWS/SQS"
    }
    steps = {
        template.functions[name].name for name in ("ClaimFunction", "ProcessFunction", "FinalizeFunction")
    }
    assert steps <= {value for namespace, value in named if namespace == "AWS/Lambda"}
    assert ("AWS/States", template.state_machines["JobStateMachine"].arn) in named
