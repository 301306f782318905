"""EventBridge Scheduler's recurring expressions, as Scheduler defines them: ``rate(value unit)``
and ``cron(minutes hours day-of-month month day-of-week year)``; and the time zones they run in.

``parse_expression`` refuses what Scheduler would refuse, with a sentence that says what is
wrong (the API answers it as a 422). A parsed cron expression also says whether a minute
matches it, which the local stack's scheduler uses to fire schedules as Scheduler does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_MONTHS = {name: index for index, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


class ExpressionError(ValueError):
    """An expression or time zone Scheduler would refuse; the message says what is wrong."""


@dataclass(frozen=True)
class Field:
    """One cron field: its name, its range, and the names its values may take."""

    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    Field("minutes", 0, 59, {}),
    Field("hours", 0, 23, {}),
    Field("day-of-month", 1, 31, {}),
    Field("month", 1, 12, _MONTHS),
    Field("day-of-week", 1, 7, _DAYS),
    Field("year", 1970, 2199, {}),
)


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    """The values each field allows; None for ``?`` (the other day field decides)."""

    values: tuple[frozenset[int] | None, ...]

    def matches(self, minute: datetime) -> bool:
        """Whether ``minute`` (a wall-clock time in the schedule's zone) is one to fire at."""
        minutes, hours, days, months, weekdays, years = self.values
        # Scheduler's day-of-week: 1 is Sunday; Python's isoweekday: 7 is Sunday.
        weekday = minute.isoweekday() % 7 + 1
        return (
            minutes is not None
            and minute.minute in minutes
            and hours is not None
            and minute.hour in hours
            and (days is None or minute.day in days)
            and (weekdays is None or weekday in weekdays)
            and months is not None
            and minute.month in months
            and years is not None
            and minute.year in years
        )


def _value(text: str, field: Field) -> int:
    number = field.names.get(text.upper()) if not text.isdigit() else int(text)
    if number is None or not field.low <= number <= field.high:
        raise ExpressionError(f"cron {field.name}: {text!r} is not in {field.low}-{field.high}")
    return number


def _field_values(text: str, field: Field) -> frozenset[int] | None:
    if text == "?":
        if field.name not in ("day-of-month", "day-of-week"):
            raise ExpressionError(f"cron {field.name}: '?' is only for day-of-month or day-of-week")
        return None
    found: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ExpressionError(f"cron {field.name}: {part!r} has no whole step after '/'")
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            start, _, end = base.partition("-")
            low, high = _value(start, field), _value(end, field)
            if low > high:
                raise ExpressionError(f"cron {field.name}: the range {base!r} runs backwards")
        else:
            low = _value(base, field)
            high = field.high if step_text else low
        found.update(range(low, high + 1, step))
    return frozenset(found)


def parse_expression(expression: str) -> Rate | Cron:
    """A recurring ``rate(...)`` or ``cron(...)`` expression; ExpressionError when it is not one."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise ExpressionError("rate: the value must be a whole number of 1 or more")
        return Rate(value * _UNIT_SECONDS[unit])
    if expression.startswith("rate("):
        raise ExpressionError("rate: write rate(<n> minutes|hours|days), e.g. rate(5 minutes)")
    cron = _CRON.match(expression)
    if not cron:
        raise ExpressionError("the expression must be rate(<n> <unit>) or cron(<6 fields>)")
    parts = cron.group(1).split()
    if len(parts) != len(_FIELDS):
        raise ExpressionError(
            f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), not {len(parts)}"
        )
    values = tuple(_field_values(text, field) for text, field in zip(parts, _FIELDS, strict=True))
    if (values[2] is None) == (values[4] is None):
        raise ExpressionError("cron: one of day-of-month and day-of-week must be '?', and only one")
    return Cron(values)


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ExpressionError when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"unknown time zone {name!r}; use an IANA name, e.g. Europe/Paris") from None


def next_cron_minute(
    cron: Cron, after: datetime, zone: ZoneInfo, *, horizon_days: int = 366
) -> datetime | None:
    """The first whole minute after ``after`` that ``cron`` fires at, in ``zone``; None within
    ``horizon_days`` (a schedule whose years are past)."""
    minute = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(horizon_days * 1440):
        if cron.matches(minute):
            return minute
        minute += timedelta(minutes=1)
    return None
