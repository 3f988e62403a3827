"""Refusals the services give the merchant, with a message for the screen."""

from __future__ import annotations


class RecordError(ValueError):
    """A refusal with a message for the merchant; ``errors`` maps form fields to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class ImportRefused(ValueError):
    """A refusal for the merchant (file too big, unknown upload, nothing to undo…)."""
