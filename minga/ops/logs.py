"""Structured logs: with `MINGA_LOG_FORMAT=json`, every log line of the node (Minga's own,
uvicorn's server and access lines) is one JSON object, for a log collector."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

# uvicorn's access records carry (client, method, path, HTTP version, status) as args.
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, and what the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            entry.update(zip(ACCESS_FIELDS, args, strict=True))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        for key, value in getattr(record, "fields", {}).items():
            entry.setdefault(key, value)
        return orjson.dumps(entry, default=str).decode()


def uvicorn_config(level: str) -> dict[str, Any]:
    """A logging dictConfig for uvicorn (applied in every worker process) in JSON."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": ["default"], "level": upper, "propagate": False},
            "minga": {"handlers": ["default"], "level": upper, "propagate": False},
        },
    }
