"""What a run reports about a file it could not use: the reason, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


class ConversionError(Exception):
    """A file cannot be converted; the message says why, ``action`` what to do."""

    def __init__(self, reason: str, action: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action


@dataclass(frozen=True)
class Failure:
    """A file that was skipped, with the reason and what to do about it."""

    path: str
    reason: str
    action: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)
