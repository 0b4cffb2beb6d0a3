"""Raw 1Password record → ECS document: the heart of the package.

Everything a record needs to become a document lives in this room: dataset detection,
the three per-dataset mappers and their shared building blocks, the mapping tables,
timestamps, geolocation, addresses and the pass-through of vendor fields. It imports
only :mod:`onepassword_ecs.ecs` (the field declarations) and the exception tree, so it
can be reasoned about, tested and benchmarked on its own.
"""

from __future__ import annotations

from ._bytes import normalize_bytes, normalize_tagged
from ._common import ECS_VERSION, readable_message
from ._dataset import Dataset, detect_dataset, parse_dataset
from ._datastream import DataStreamStage
from ._decode import decode_json
from ._native import mapper_implementation
from ._normalize import normalize
from ._rerender import NameOf, render_message
from ._tables import CATEGORY_TYPES, Tables, tables
from ._timestamps import assumed_zone as check_timezone

__all__ = [
    "CATEGORY_TYPES",
    "ECS_VERSION",
    "DataStreamStage",
    "Dataset",
    "NameOf",
    "Tables",
    "check_timezone",
    "decode_json",
    "detect_dataset",
    "mapper_implementation",
    "normalize",
    "normalize_bytes",
    "normalize_tagged",
    "parse_dataset",
    "readable_message",
    "render_message",
    "tables",
]
