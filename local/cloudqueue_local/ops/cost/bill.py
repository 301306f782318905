"""What a bill is: its lines, the quotas' limits, and the bill itself with its totals."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from cloudqueue_local.ops.cost.assumptions import Usage


@dataclass(frozen=True)
class Line:
    """One line of the bill: a quantity of one priced unit of one service."""

    service: str
    item: str
    quantity: float
    unit: str
    usd: float
    price: str
    fixed: bool = False  # the same whatever the number of jobs
    prorated: bool = False  # grows with the jobs, but less than in proportion (metrics' hours, cold starts)

    def to_json(self) -> dict[str, Any]:
        """The line as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Limit:
    """The jobs per second one default quota (or template default) allows, and what to raise."""

    what: str
    jobs_per_second: float
    raise_by: str
    quota: float = 0.0  # the quota's or parameter's value today
    per_job: float = 1.0  # what one job per second takes of it: jobs_per_second = quota / per_job
    fresh_account: bool = False  # a new account's lower default, which AWS raises on request
    note: str = ""

    def needed_for(self, jobs_per_second: float) -> float:
        """The quota's value that allows ``jobs_per_second``."""
        return jobs_per_second * self.per_job


@dataclass
class Bill:
    """A month's bill at one execution log level, with its free tier, capacity and floor."""

    usage: Usage
    log_level: str
    lines: list[Line]
    free_usd: float
    free_tier_jobs: dict[str, float]  # price name -> jobs a month its always-free allowance covers
    capacity: list[Limit]
    assumptions: list[str]
    floor: dict[str, float]  # design_floor: USD per million jobs by part

    @property
    def monthly_usd(self) -> float:
        """The month's total at list prices."""
        return sum(line.usd for line in self.lines)

    @property
    def per_million_jobs_usd(self) -> float:
        """The month's total per million jobs."""
        return self.monthly_usd / self.usage.jobs_per_month * 1_000_000

    def to_json(self) -> dict[str, Any]:
        """The bill as ``cloudqueue cost --json`` prints it."""
        return {
            "monthlyUsd": round(self.monthly_usd, 4),
            "perMillionJobsUsd": round(self.per_million_jobs_usd, 4),
            "jobsPerMonth": self.usage.jobs_per_month,
            "executionLogLevel": self.log_level,
            "lines": [line.to_json() for line in self.lines],
            "freeTierUsd": round(self.free_usd, 4),
            "freeTierJobsPerMonth": {name: math.floor(jobs) for name, jobs in self.free_tier_jobs.items()},
            "capacity": [asdict(limit) for limit in self.capacity],
            "assumptions": self.assumptions,
            "floorPerMillionJobsUsd": round(sum(self.floor.values()), 4),
            "floorParts": [
                {"part": part, "perMillionJobsUsd": round(usd, 4)} for part, usd in self.floor.items()
            ],
        }
