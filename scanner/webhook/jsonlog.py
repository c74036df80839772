"""JSON log lines: one object per line on stderr, with the request uid when there is one.

Log collectors in a cluster parse one JSON object per line; every field
passed as `extra={"fields": {...}}` becomes a key of that object.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

LOGGER_NAME = "cdgate.webhook"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_json_logging(level: str = "info") -> None:
    """Send cdgate's and uvicorn's logs to stderr as JSON lines (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in (LOGGER_NAME, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
