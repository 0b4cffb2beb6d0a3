"""IP address checks, cached because the same few thousand addresses repeat all day."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

__all__ = ["indexable_ip"]


@lru_cache(maxsize=16384)
def indexable_ip(text: str) -> str | None:
    """The address an Elasticsearch ``ip`` field accepts for ``text``, or None.

    An IPv6 link-local address may carry a zone id (``fe80::1%eth0``): it names the
    interface on the machine that logged it, not part of the address, and Elasticsearch
    refuses it (one bad ``ip`` value rejects the whole document). The address without
    the zone is returned; the caller keeps the raw text in ``client.address``. Anything
    else that is not an IPv4 or IPv6 literal (surrounding spaces, a zone on IPv4, an
    empty zone) gives None.
    """
    if text != text.strip():
        return None
    address, percent, zone = text.partition("%")
    if percent and (not zone or ":" not in address):
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if percent and parsed.version != 6:
        return None
    return address
