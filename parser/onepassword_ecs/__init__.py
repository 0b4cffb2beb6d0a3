"""onepassword_ecs: 1Password Events API records → Elastic Common Schema 9.4.0 documents.

The public surface is what ``__all__`` lists; every other module is private.

>>> from onepassword_ecs import normalize
>>> doc = normalize('{"uuid": "X", "timestamp": "2024-01-02T03:04:05Z", "category": "success"}')
>>> doc["event"]["dataset"]
'1password.signin_attempts'
"""

from __future__ import annotations

from ._dataset import Dataset, detect_dataset
from ._errors import MappingTableError, NormalizationError, OnePasswordEcsError
from ._normalize import ECS_VERSION, normalize
from ._template import index_template
from ._validate import Problem, validate

__version__ = "0.1.0"

__all__ = [
    "ECS_VERSION",
    "Dataset",
    "MappingTableError",
    "NormalizationError",
    "OnePasswordEcsError",
    "Problem",
    "__version__",
    "detect_dataset",
    "index_template",
    "normalize",
    "validate",
]
