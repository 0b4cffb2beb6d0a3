"""``--shard K/N``: N collectors split one accounts file without talking to each other.

Each account goes to shard ``1 + H(name) mod N``, where ``H`` is the first eight bytes
of the SHA-256 of the account's name (UTF-8), read as a big-endian integer. Python's
``hash`` would not do: it is salted per process (``PYTHONHASHSEED``), so two machines
would disagree. SHA-256 is the same everywhere and spreads names evenly, so every
machine given the same file and the same N computes the same assignment, and each
account is collected by exactly one of them.

Changing N moves most accounts to another shard; the new holder starts that
account's streams from ``--since`` (its state file has no cursor for them) and the
old one simply stops polling them. Keep N fixed, or move the state files with the
accounts (see docs/collector.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .._errors import CollectorConfigError

__all__ = ["Shard", "parse_shard", "shard_of"]

_SHARD = re.compile(r"^\s*(\d{1,6})\s*/\s*(\d{1,6})\s*$")


def shard_of(name: str, count: int) -> int:
    """Which of ``count`` shards (numbered from 1) holds the account called ``name``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1 ≤ index ≤ count)."""

    index: int
    count: int

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 ≤ K ≤ N."""
    match = _SHARD.match(text)
    if not match:
        raise CollectorConfigError("--shard takes K/N, such as 1/3 (shards numbered from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise CollectorConfigError(f"--shard {index}/{count}: K must be between 1 and N")
    return Shard(index, count)
