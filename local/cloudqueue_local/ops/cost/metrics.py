"""Custom metrics: the names the deployed code emits, found in its source, and what each costs.

CloudWatch bills a custom metric (a name with its dimensions) for each hour in which it is
published, prorated from its monthly price. A metric published at r times an hour (a Poisson
process) is published in a fraction 1 - exp(-r) of the hours: every job's metric is a whole
metric from a few jobs an hour, a rare one a small part of one.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cloudqueue_local.ops.cost.assumptions import HOURS_PER_MONTH, Usage

CODE = Path(__file__).resolve().parents[4] / "functions" / "cloudqueue"


@dataclass(frozen=True)
class Publication:
    """When the code publishes a metric: per job (a rate of the month's jobs) or per sweep;
    ``guarded``: when instead every call that emits it is under a condition (an ``if``)."""

    when: str
    per_job: Callable[[Usage], float] = lambda _: 0.0
    per_sweep: float = 0.0
    guarded: Publication | None = None


@dataclass(frozen=True)
class Emission:
    """Where the code emits a metric, and whether every call that does is under a condition."""

    module: str
    guarded: bool
    # Every module that emits it: each function's copy is a metric of its own ("service").
    modules: tuple[str, ...] = ()


# Every metric the code emits, with what publishes it (see the handlers). A name the code emits
# that is not here fails tests/unit/test_cost.py: say how often it is published, and it is priced.
PUBLICATIONS: dict[str, Publication] = {
    "JobsSubmitted": Publication("every submit", per_job=lambda _: 1.0),
    "JobsClaimed": Publication("every claim", per_job=lambda usage: 1.0 + usage.failure_rate),
    "JobsSucceeded": Publication("every job that succeeds", per_job=lambda usage: 1.0 - usage.failure_rate),
    "JobsFailed": Publication("every job that fails", per_job=lambda usage: usage.failure_rate),
    "PendingJobsSent": Publication(
        "every sweep, found or not",
        per_sweep=1.0,
        guarded=Publication("a sweep that sends a stranded job", per_job=lambda usage: usage.rare_rate),
    ),
    "DuplicateDeliveriesSkipped": Publication(
        "a duplicate delivery", per_job=lambda usage: usage.duplicate_rate
    ),
    "JobsDeadLettered": Publication("a dead letter", per_job=lambda usage: usage.dead_letter_rate),
    "StaleWorkersFenced": Publication("a fenced stale worker", per_job=lambda usage: usage.rare_rate),
    "JobsRedriven": Publication("a redriven dead letter", per_job=lambda usage: usage.rare_rate),
    "PoisonMessagesKept": Publication("a poison message", per_job=lambda usage: usage.rare_rate),
    "StrandedJobsResent": Publication("a stranded job sent again", per_job=lambda usage: usage.rare_rate),
    # A webhook attempt that failed and is tried again; a delivery given up on (dead-lettered).
    "WebhooksRetried": Publication(
        "a webhook attempt retried",
        per_job=lambda usage: usage.callback_share * usage.webhook_retry_rate,
    ),
    "WebhooksFailed": Publication("a webhook given up on", per_job=lambda usage: usage.rare_rate),
    # A delayed job's message delivered early is a duplicate or a resend of a delayed job.
    "EarlyDeliveriesDeferred": Publication(
        "an early delivery of a delayed job",
        per_job=lambda usage: usage.duplicate_rate * usage.scheduler_share,
    ),
}


class UnresolvedMetric(Exception):
    """An ``add_metric`` whose name the scan cannot resolve to string constants."""


def emitted_metrics(root: Path = CODE) -> dict[str, str]:
    """Every metric name the code under ``root`` emits -> the module that emits it."""
    return {name: emission.module for name, emission in scan_metrics(root).items()}


def scan_metrics(root: Path = CODE) -> dict[str, Emission]:
    """Every metric name the code under ``root`` emits, where, and whether always or under a condition.

    Reads each ``add_metric(name=...)`` call: a string constant; a local variable bound to
    constants (or to a conditional of them, or looping over a tuple of them) in the same
    function; a module-level constant, of this module or of one it imports from the package
    (``metric_names.JOBS_FAILED``); or a lookup in a module-level dict of those. Any other name
    (an f-string, a computed value) raises UnresolvedMetric: make the name discoverable in the
    code rather than guess it here.
    """
    found: dict[str, Emission] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        constants = _module_constants(tree, root)
        module = path.relative_to(root.parent).with_suffix("").as_posix().replace("/", ".")
        for function, call, guarded in _metric_calls(tree):
            name = next((kw.value for kw in call.keywords if kw.arg == "name"), None)
            if name is None and call.args:
                name = call.args[0]
            if name is None:
                raise UnresolvedMetric(f"{module}:{call.lineno}: add_metric without a name")
            for each in _resolve(name, function, constants, f"{module}:{call.lineno}"):
                before = found.get(each)
                if before is None:
                    found[each] = Emission(module, guarded, (module,))
                else:
                    modules = before.modules + ((module,) if module not in before.modules else ())
                    found[each] = Emission(before.module, guarded and before.guarded, modules)
    return found


_CONDITIONS = (ast.If, ast.For, ast.While, ast.Try, ast.IfExp)


def _metric_calls(tree: ast.Module) -> Iterator[tuple[ast.AST, ast.Call, bool]]:
    """Each ``add_metric`` call in a function, with whether it is under a condition there."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield from _calls_under(function, function, guarded=False)


def _calls_under(
    function: ast.AST, node: ast.AST, *, guarded: bool
) -> Iterator[tuple[ast.AST, ast.Call, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # their calls are their own
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr == "add_metric"
        ):
            yield function, child, guarded
        yield from _calls_under(function, child, guarded=guarded or isinstance(child, _CONDITIONS))


def _module_constants(tree: ast.Module, root: Path) -> dict[str, ast.expr]:
    """The module's top-level assignments by name, and the constants it imports from the package
    under ``root`` (a module imported whole stands as a dict of its own constants)."""
    constants: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            constants[node.target.id] = node.value
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == root.name:
            for alias in node.names:
                imported = _constants_of(root, f"{node.module}.{alias.name}")
                if imported is not None:  # a module of the package, imported whole
                    constants[alias.asname or alias.name] = _as_dict(imported)
                elif (source := _constants_of(root, node.module)) and alias.name in source:
                    constants[alias.asname or alias.name] = source[alias.name]
    return constants


def _constants_of(root: Path, module: str) -> dict[str, ast.expr] | None:
    """The top-level constants of the package's module ``module`` (dotted), None if no such file."""
    base = root.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return _file_constants(path, path.stat().st_mtime_ns, root)
    return None


@cache
def _file_constants(path: Path, mtime_ns: int, root: Path) -> dict[str, ast.expr]:
    """``_module_constants`` of one file as it is at ``mtime_ns``: each module is read once, not
    once for every module that imports it (which grows with every import of an import)."""
    return _module_constants(ast.parse(path.read_text(), str(path)), root)


def _as_dict(constants: dict[str, ast.expr]) -> ast.Dict:
    """A module's constants as a dict node, so that ``module.NAME`` reads like ``D["NAME"]``."""
    return ast.Dict(keys=[ast.Constant(name) for name in constants], values=list(constants.values()))


def _resolve(node: ast.expr, function: ast.AST, constants: dict[str, ast.expr], where: str) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _resolve(node.body, function, constants, where) | _resolve(
            node.orelse, function, constants, where
        )
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_resolve(each, function, constants, where) for each in node.elts))
    if isinstance(node, ast.Name):
        bound = [
            each.value
            for each in ast.walk(function)
            if isinstance(each, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == node.id for target in each.targets)
        ]
        # A loop variable takes each of the values it iterates over.
        bound += [
            each.iter
            for each in ast.walk(function)
            if isinstance(each, ast.For) and isinstance(each.target, ast.Name) and each.target.id == node.id
        ]
        if not bound and node.id in constants:
            bound = [constants[node.id]]  # a module-level constant
        if bound:
            return set().union(*(_resolve(value, function, constants, where) for value in bound))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        module = constants.get(node.value.id)
        if isinstance(module, ast.Dict):  # module.NAME of a module imported whole
            for key, value in zip(module.keys, module.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == node.attr:
                    return _resolve(value, function, constants, where)
    mapping = _looked_up(node, constants)
    if mapping is not None:
        return set().union(*(_resolve(value, function, constants, where) for value in mapping.values))
    raise UnresolvedMetric(f"{where}: cannot tell which metric name {ast.unparse(node)!r} is")


def _looked_up(node: ast.expr, constants: dict[str, ast.expr]) -> ast.Dict | None:
    """The module-level dict that ``node`` reads a value from (``D[key]`` or ``D.get(key)``)."""
    if isinstance(node, ast.Subscript):
        target = node.value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        target = node.func.value
    else:
        return None
    if isinstance(target, ast.Name) and isinstance(constants.get(target.id), ast.Dict):
        return constants[target.id]  # type: ignore[return-value]  # checked just above
    return None


def published_fraction(per_hour: float) -> float:
    """The fraction of a month's hours in which a metric published ``per_hour`` times an hour
    (a Poisson process) is published at least once: what CloudWatch bills of it."""
    return 1.0 - math.exp(-per_hour)


def metric_months(
    usage: Usage, sweeps_per_month: float, guarded: frozenset[str] = frozenset()
) -> dict[str, tuple[str, float]]:
    """Each known metric -> (what publishes it, the metric-months billed for it); a name in
    ``guarded`` is emitted only under a condition, and priced as its ``guarded`` publication."""
    months: dict[str, tuple[str, float]] = {}
    for name, known in PUBLICATIONS.items():
        publication = known.guarded if name in guarded and known.guarded else known
        per_month = (
            usage.jobs_per_month * publication.per_job(usage) + sweeps_per_month * publication.per_sweep
        )
        months[name] = (publication.when, published_fraction(per_month / HOURS_PER_MONTH))
    return months
