"""Thin Lambda handlers: parse the event, call one domain function, shape the answer.

Each takes its ports (store, queue, ...) as optional keyword arguments and builds the
real AWS adapters only when none are given, once per container.
"""

import warnings

# A request that adds no metric (a GET, a failed claim) is normal; Powertools warns about it.
warnings.filterwarnings("ignore", message="No application metrics to publish")
