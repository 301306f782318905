"""The handlers' Powertools Logger, at the template's ``LogLevel`` (``POWERTOOLS_LOG_LEVEL``).

With ``LogFormat: JSON`` Lambda's advanced logging controls set ``AWS_LAMBDA_LOG_LEVEL`` (the
application log level: INFO unless ``ApplicationLogLevel`` says otherwise), and Powertools
prefers it to ``POWERTOOLS_LOG_LEVEL``: every function would log its INFO lines (about 2.3 KB
a job) whatever ``LogLevel`` says. Lambda only drops lines *below* its level, so a stricter
``LogLevel`` is applied here; a laxer one gains nothing (Lambda would drop those lines).
``ApplicationLogLevel`` itself stays unset: EMF lines carry no level, and any level above INFO
would drop them, and the metrics and alarms with them.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger


def service_logger() -> Logger:
    """A Powertools Logger for this function's service, at least as strict as ``LogLevel``."""
    logger = Logger()
    wanted = logging.getLevelName((os.environ.get("POWERTOOLS_LOG_LEVEL") or "").upper())
    if isinstance(wanted, int) and wanted > logger.log_level:
        logging.getLogger(logger.name).setLevel(wanted)
    return logger
