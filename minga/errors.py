"""Domain errors; adapters turn them into HTTP, TAXII or CLI errors (domain code raises no HTTP)."""

from __future__ import annotations

from typing import Any


class MingaError(Exception):
    """Base of every error a caller can cause; `message` is a sentence for a person."""

    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(MingaError):
    code = "invalid"


class NotFound(MingaError):
    code = "not_found"


class Forbidden(MingaError):
    code = "forbidden"


class Unauthenticated(MingaError):
    code = "unauthenticated"


class Conflict(MingaError):
    code = "conflict"
