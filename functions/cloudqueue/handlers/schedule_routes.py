"""The HTTP API's recurring-schedule routes (``/schedules``), included in ApiFunction's resolver.

Every route acts on the caller's own schedules: another owner's answers as a missing one."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from cloudqueue import schedules
from cloudqueue.api_models import CreateScheduleRequest, ScheduleList, ScheduleView
from cloudqueue.handlers.api_ports import handed_in, settings
from cloudqueue.handlers.callback_urls import checked_callback_url
from cloudqueue.handlers.callers import caller_of
from cloudqueue.handlers.http_errors import ERROR_RESPONSES
from cloudqueue.handlers.scheduling import default_schedules
from cloudqueue.ports import RecurringSchedules

router = Router()  # type: ignore[no-untyped-call]

CREATED_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {"description": "Created", "content": {"application/json": {"model": ScheduleView}}},
    **ERROR_RESPONSES,
}
ONE_RESPONSES: dict[int, Any] = {
    200: {"description": "The schedule", "content": {"application/json": {"model": ScheduleView}}},
    **ERROR_RESPONSES,
}
LIST_RESPONSES: dict[int, Any] = {
    200: {"description": "Your schedules", "content": {"application/json": {"model": ScheduleList}}},
    **ERROR_RESPONSES,
}
DELETED_RESPONSES: dict[int, Any] = {200: {"description": "Deleted: {name, deleted}"}, **ERROR_RESPONSES}
NAME = Path(alias="name", min_length=1, max_length=48, pattern=r"^[0-9A-Za-z_.-]+$")


def current_schedules() -> RecurringSchedules:
    """The schedules this invocation uses: the ones handed in, else the real ones."""
    handed: RecurringSchedules | None = router.context.get("schedules")
    return handed or default_schedules()


def current_owner() -> str:
    """Whose schedules this request acts on: the caller (``handlers.callers``)."""
    # ApiFunction's resolver is an HTTP API (payload 2.0) one: its events are of that kind.
    return caller_of(cast("APIGatewayProxyEventV2", router.current_event)).owner


def _json(status: int, view: ScheduleView) -> Response[Any]:
    return Response(
        status_code=status, content_type="application/json", body=view.model_dump_json(by_alias=True)
    )


@router.post(
    "/schedules",
    summary="Create a recurring schedule",
    description="An EventBridge Scheduler schedule that submits `job` at each firing of `expression`; "
    "each firing makes one job (even if delivered twice), marked with `schedule`.",
    responses=CREATED_RESPONSES,
)
def create_schedule(request: Annotated[CreateScheduleRequest, Body(embed=False)]) -> Response[Any]:
    schedule = request.schedule_of(current_owner())
    # As a submit's: a 422 when the stack has no webhooks or may not POST there.
    url = checked_callback_url(schedule.job.callback_url, settings(), handed_in(router.context).resolver)
    schedule = schedule.model_copy(update={"job": schedule.job.model_copy(update={"callback_url": url})})
    made = schedules.create_schedule(schedule, schedules=current_schedules())
    return _json(HTTPStatus.CREATED, ScheduleView.of(made))


@router.get("/schedules", summary="List your recurring schedules", responses=LIST_RESPONSES)
def list_schedules() -> ScheduleList:
    found = current_schedules().list(current_owner())
    return ScheduleList(schedules=[ScheduleView.of(each) for each in found])


@router.get("/schedules/<name>", summary="Read one recurring schedule", responses=ONE_RESPONSES)
def get_schedule(name: Annotated[str, NAME]) -> ScheduleView:
    return ScheduleView.of(schedules.get_schedule(current_owner(), name, schedules=current_schedules()))


@router.delete("/schedules/<name>", summary="Delete a recurring schedule", responses=DELETED_RESPONSES)
def delete_schedule(name: Annotated[str, NAME]) -> dict[str, Any]:
    schedules.delete_schedule(current_owner(), name, schedules=current_schedules())
    return {"name": name, "deleted": True}


@router.post("/schedules/<name>/pause", summary="Pause a recurring schedule", responses=ONE_RESPONSES)
def pause_schedule(name: Annotated[str, NAME]) -> ScheduleView:
    return ScheduleView.of(schedules.set_enabled(current_owner(), name, False, schedules=current_schedules()))


@router.post(
    "/schedules/<name>/resume", summary="Resume a paused recurring schedule", responses=ONE_RESPONSES
)
def resume_schedule(name: Annotated[str, NAME]) -> ScheduleView:
    return ScheduleView.of(schedules.set_enabled(current_owner(), name, True, schedules=current_schedules()))
