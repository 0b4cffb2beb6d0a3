"""How the store packs documents and event ids into few bytes (standard library only).

Documents: consecutive new documents of one write are joined with ``\\n`` (canonical
JSON never holds a raw newline) into blocks of up to :data:`BLOCK_DOCUMENTS` and
compressed with zlib, primed with a preset dictionary of sample documents kept in the
store (``dictionaries``). Measured on ``scripts/activity.py`` documents (1,478 B each as
NDJSON): one document alone compresses to 658 B, with the dictionary to 283 B; a block
of 128 to 149 B per document with the dictionary (155 B without), 64 to 152 B, 256 to
147 B. The dictionary is what keeps a collector's small pages (a few documents per
write) near the large-block figure. 128 is the compromise between size and the cost of
reading one document (the whole block, about 190 KB, is inflated: about 0.4 ms).

Event ids: the Events API's ids are 26-character base32 strings (130 bits); stored as
a 17-byte number (a BLOB) they take 9 bytes less in the row and again in the index.
Any other id (lower case, a hex uuid, ``sha256:...``, another tool's) is stored as TEXT
as it is; the two types never compare equal in SQLite, so the encodings cannot collide.
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from .._errors import StoreError

__all__ = [
    "BLOCK_DOCUMENTS",
    "BlockCache",
    "compress_block",
    "decode_key",
    "encode_key",
    "inflate_block",
    "sample_dictionary",
]

BLOCK_DOCUMENTS = 128
"""Documents per compressed block, at most (a write's last block may hold fewer)."""

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32
_API_ID = re.compile(f"[{_ALPHABET}]{{26}}")
_TO_DIGITS = str.maketrans(_ALPHABET, "0123456789abcdefghijklmnopqrstuv")  # int(..., 32)
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]  # 10 bits each
_SHIFTS = range(120, -1, -10)  # 13 pairs of 5-bit digits: 130 bits, 26 characters
_LEVEL = 6  # level 9 saves 4 % and halves the speed: not worth it on the write path
_DICTIONARY_BYTES = 32 * 1024  # zlib's window: a longer dictionary is not used


def encode_key(event_id: str) -> bytes | str:
    """The stored form of an event id: 17 bytes for the Events API's form, else text."""
    if len(event_id) == 26 and _API_ID.fullmatch(event_id):
        return int(event_id.translate(_TO_DIGITS), 32).to_bytes(17, "big")
    return event_id


def decode_key(key: bytes | str) -> str:
    """The event id for a stored key (the inverse of :func:`encode_key`)."""
    if isinstance(key, bytes):
        number = int.from_bytes(key, "big")
        return "".join(_PAIRS[(number >> shift) & 1023] for shift in _SHIFTS)
    return key


def sample_dictionary(documents: Sequence[bytes], kinds: Sequence[Hashable]) -> bytes:
    """A preset dictionary from ``documents``: one of each kind, the commonest last.

    zlib finds repeated strings within 32 KiB behind, and the dictionary counts as what
    came before; what is at its end is the cheapest to refer to, so the most frequent
    kind of document goes last.
    """
    counts: dict[Hashable, int] = {}
    first: dict[Hashable, bytes] = {}
    for document, kind in zip(documents, kinds, strict=True):
        counts[kind] = counts.get(kind, 0) + 1
        first.setdefault(kind, document)
    ordered = sorted(first, key=lambda kind: counts[kind])
    return b"\n".join(first[kind] for kind in ordered)[-_DICTIONARY_BYTES:]


def compress_block(documents: Sequence[bytes], dictionary: bytes) -> bytes:
    """One block's bytes: the documents joined by newlines, deflated with the dictionary."""
    packer = zlib.compressobj(_LEVEL, zdict=dictionary) if dictionary else zlib.compressobj(_LEVEL)
    return packer.compress(b"\n".join(documents)) + packer.flush()


def inflate_block(data: bytes, dictionary: bytes) -> list[bytes]:
    """The documents of a block, in slot order."""
    unpacker = zlib.decompressobj(zdict=dictionary) if dictionary else zlib.decompressobj()
    return (unpacker.decompress(data) + unpacker.flush()).split(b"\n")


class BlockCache:
    """The last few inflated blocks, so reading documents in order inflates each once.

    Bounded (``size`` blocks of at most :data:`BLOCK_DOCUMENTS` documents), so memory is
    flat whatever is read. ``load(block_id)`` returns ``(data, dictionary)``.
    """

    def __init__(
        self,
        load: Callable[[int], tuple[bytes, bytes]],
        where: str,
        size: int = 32,
    ) -> None:
        self._load = load
        self._where = where
        self._size = size
        self._blocks: OrderedDict[int, list[bytes]] = OrderedDict()

    def document(self, block: int, slot: int) -> bytes:
        documents = self._blocks.get(block)
        if documents is None:
            try:
                documents = inflate_block(*self._load(block))
            except zlib.error as exc:
                raise StoreError(
                    f"{self._where}: block {block} of the store is damaged ({exc}); restore "
                    "the file from a backup, or export the time before and after it "
                    "(store export --since/--until)"
                ) from None
            self._blocks[block] = documents
            if len(self._blocks) > self._size:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(block)
        if not 0 <= slot < len(documents):
            raise StoreError(
                f"{self._where}: block {block} of the store has no document {slot} "
                "(the file is damaged); restore it from a backup"
            )
        return documents[slot]

    def clear(self) -> None:
        self._blocks.clear()
