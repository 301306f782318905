"""``cloudqueue bench``: the benchmarks' room, one module per scenario and per role.

- ``runner``: runs the chosen scenarios and prints the figures table (what the CLI calls);
- ``options``: how a run's stacks are started, and the mixed load's size;
- ``timing``: timing in a fresh interpreter, waiting, percentiles, shared by every scenario;
- ``aws_view``: a local stack's table, queues and log group, read through its AWS endpoint;
- ``report``: the figures table;
- ``stack_scenarios``: backlog, latency and burst on one stack; ``burst``: the POST load;
- ``imports``: handlers' import ratios, floors, goals and verdicts, and the ``--python`` check;
- ``bytecode``: cold imports from the function package, without and with bytecode;
- ``history``: one job's history read from a large log group;
- ``mixed``: the mixed-load run; ``mixed_load`` (plan, clients, duplicates), ``mixed_checks``
  (lost, claimed twice, wrong, extra executions) and ``mixed_report`` (its figures and rows).
"""
