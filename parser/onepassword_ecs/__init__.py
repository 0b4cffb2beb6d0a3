"""onepassword_ecs: 1Password Events API records → Elastic Common Schema 9.4.0 documents.

The public surface is what ``__all__`` lists. Behind it the package is divided into
rooms by concern (``mapping``, ``ecs``, ``stream``, ``stages``, ``golden``, ``collect``,
``cli``, ...), each a sub-package whose own ``__all__`` says what the other rooms may
use; the modules inside a room are private. ``docs/architecture.md`` draws the map.

>>> from onepassword_ecs import normalize
>>> doc = normalize('{"uuid": "X", "timestamp": "2024-01-02T03:04:05Z", "category": "success"}')
>>> doc["event"]["dataset"]
'1password.signin_attempts'
"""

from __future__ import annotations

from ._errors import (
    ArgumentError,
    LookupFileError,
    MappingTableError,
    NormalizationError,
    OnePasswordEcsError,
    StageConfigError,
)
from .ecs import Problem, index_template, validate
from .mapping import ECS_VERSION, Dataset, detect_dataset, normalize, normalize_bytes
from .stages import Enricher, Redactor, redaction_key

__version__ = "0.1.0"

__all__ = [
    "ECS_VERSION",
    "ArgumentError",
    "Dataset",
    "Enricher",
    "LookupFileError",
    "MappingTableError",
    "NormalizationError",
    "OnePasswordEcsError",
    "Problem",
    "Redactor",
    "StageConfigError",
    "__version__",
    "detect_dataset",
    "index_template",
    "normalize",
    "normalize_bytes",
    "redaction_key",
    "validate",
]
