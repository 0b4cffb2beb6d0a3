"""IP address checks, cached because the same few thousand addresses repeat all day."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

__all__ = ["valid_ip"]


@lru_cache(maxsize=16384)
def valid_ip(text: str) -> bool:
    """True when ``text`` is an IPv4 or IPv6 literal an Elasticsearch ``ip`` field accepts.

    Zone ids (``fe80::1%eth0``) and surrounding spaces are refused: Python accepts the
    former and Elasticsearch rejects both, and one bad ``ip`` value rejects the whole
    document.
    """
    if "%" in text or text != text.strip():
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
