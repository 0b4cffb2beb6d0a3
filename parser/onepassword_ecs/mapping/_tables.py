"""Load and check the mapping tables in mappings/ (package onepassword_ecs.mappings).

The tables are data a user can read and extend. They are read once, validated with
pydantic models (so a typo fails at load time naming the file and the entry, never in
the middle of a stream), and turned into plain dicts and frozen dataclasses that the
per-record code can index without further checks.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, RootModel, StringConstraints, ValidationError

from .._errors import MappingTableError

__all__ = [
    "AuditAction",
    "AuditObjectType",
    "ItemUsageAction",
    "SigninCategory",
    "SigninType",
    "Tables",
    "load_table",
    "tables",
]

# ECS categories the tables may name, with the event.type values ECS 9.4.0 expects for
# each (categorization.md). Only the categories a 1Password event can fall into are listed;
# the ECS validator checks the full list.
CATEGORY_TYPES: dict[str, frozenset[str]] = {
    "authentication": frozenset({"start", "end", "info"}),
    "configuration": frozenset({"access", "change", "creation", "deletion", "info"}),
    "file": frozenset({"access", "change", "creation", "deletion", "info"}),
    "iam": frozenset({"admin", "change", "creation", "deletion", "group", "info", "user"}),
}

_Model = TypeVar("_Model", bound=BaseModel)

Category = Literal["authentication", "configuration", "file", "iam"]
Activity = Literal["access", "change", "creation", "deletion", "info", "start", "end"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ObjectTypeRow(_Strict):
    name: str
    category: Category = "configuration"
    entity: Literal["user", "group"] | None = None
    object: Literal["user", "group"] | None = None
    aux: Literal["user", "group"] | None = None
    aux_info_codes: dict[str, str] = {}
    aux_info_is_target: bool = False


class _ActionOverride(_Strict):
    type: Activity | None = None
    category: Category | None = None
    entity: Literal["user", "group"] | None = None
    message: str | None = None


class _ActionRow(_ActionOverride):
    type: Activity = "info"
    message: str = "{actor} performed {action} on {object}"
    on: dict[str, _ActionOverride] = {}


class _SigninCategoryRow(_Strict):
    outcome: Literal["success", "failure", "unknown"]
    message: str


class _SigninTypeRow(_Strict):
    reason: str
    detail: str | None = None


class _ItemUsageRow(_Strict):
    type: Literal["access", "creation", "change"]
    message: str


class _AuditObjectTypesFile(_Strict):
    object_types: dict[str, _ObjectTypeRow]


class _AuditActionsFile(_Strict):
    actions: dict[str, _ActionRow]


class _SigninFile(_Strict):
    categories: dict[str, _SigninCategoryRow]
    types: dict[str, _SigninTypeRow]


class _ItemUsageFile(_Strict):
    actions: dict[str, _ItemUsageRow]


class _CountryAliasesFile(_Strict):
    names: dict[str, str]
    display_names: dict[str, str]


# region_aliases.toml: country code → {GeoIP English name → ISO 3166-2 code}.
_RegionAliasesFile = RootModel[
    dict[
        Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")],
        dict[str, Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]],
    ]
]


@dataclass(frozen=True, slots=True)
class AuditObjectType:
    """What an audit `object_type` code means (see mappings/audit_object_types.toml)."""

    name: str
    category: str
    entity: str | None
    object: str | None
    aux: str | None
    aux_info_codes: dict[str, str]
    aux_info_is_target: bool


@dataclass(frozen=True, slots=True)
class AuditAction:
    """An audit action as it applies to one object type (overrides already merged)."""

    activity: str
    category: str | None
    entity: str | None
    message: str


@dataclass(frozen=True, slots=True)
class SigninCategory:
    outcome: str
    message: str


@dataclass(frozen=True, slots=True)
class SigninType:
    reason: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class ItemUsageAction:
    activity: str
    message: str


@dataclass(frozen=True, slots=True)
class Tables:
    """Every mapping table, checked and ready for per-record lookups."""

    object_types: dict[str, AuditObjectType]
    actions: dict[str, AuditAction]
    # (action, object_type) -> the action with that object type's overrides applied.
    action_overrides: dict[tuple[str, str], AuditAction]
    signin_categories: dict[str, SigninCategory]
    signin_types: dict[str, SigninType]
    item_usage_actions: dict[str, ItemUsageAction]
    country_names: dict[str, str]
    country_display_names: dict[str, str]
    # country code -> {GeoIP English region name -> ISO 3166-2 code}
    region_aliases: dict[str, dict[str, str]]


def load_table(filename: str) -> dict[str, Any]:
    """Read one TOML table shipped in onepassword_ecs.mappings."""
    source = resources.files("onepassword_ecs.mappings").joinpath(filename)
    try:
        with source.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MappingTableError(f"mappings/{filename}: {exc}") from exc


def _parse(model: type[_Model], filename: str) -> _Model:
    try:
        return model.model_validate(load_table(filename))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise MappingTableError(f"mappings/{filename}: {problems}") from exc


# The placeholders each kind of message template may use (the mappers fill exactly these).
AUDIT_PLACEHOLDERS = frozenset(
    {"actor", "target", "object", "role", "new_role", "counts", "aux_info", "aux_uuid", "action"}
)
SIGNIN_PLACEHOLDERS = frozenset({"user", "reason"})
ITEM_USAGE_PLACEHOLDERS = frozenset({"user", "item", "vault", "action"})


def _check_template(filename: str, key: str, template: str, allowed: frozenset[str]) -> None:
    """Refuse a message template that names an unknown placeholder or is not a template,
    so a typo fails when the tables load instead of on every record."""
    try:
        fields = [
            field for _, field, _, _ in string.Formatter().parse(template) if field is not None
        ]
    except ValueError as exc:
        raise MappingTableError(f"mappings/{filename}: {key}: message: {exc}") from None
    for field in fields:
        if field not in allowed:
            raise MappingTableError(
                f"mappings/{filename}: {key}: message uses {{{field}}}; "
                f"the placeholders are {', '.join(sorted(allowed))}"
            )


def _check_category_pairs(filename: str, key: str, category: str, types: list[str]) -> None:
    allowed = CATEGORY_TYPES[category]
    for value in types:
        if value not in allowed:
            raise MappingTableError(
                f"mappings/{filename}: {key}: ECS does not pair event.type {value!r} "
                f"with event.category {category!r}"
            )


@cache
def tables() -> Tables:
    """Load every table once per process."""
    object_file = _parse(_AuditObjectTypesFile, "audit_object_types.toml")
    action_file = _parse(_AuditActionsFile, "audit_actions.toml")
    signin_file = _parse(_SigninFile, "signin.toml")
    item_file = _parse(_ItemUsageFile, "item_usage_actions.toml")
    country_file = _parse(_CountryAliasesFile, "country_aliases.toml")
    region_file = _parse(_RegionAliasesFile, "region_aliases.toml")
    for country, aliases in region_file.root.items():
        for name, code in aliases.items():
            if not code.startswith(f"{country}-"):
                raise MappingTableError(
                    f"mappings/region_aliases.toml: {country}: {name!r} = {code!r}: "
                    f"a code of {country} starts with {country}-"
                )

    object_types = {
        code: AuditObjectType(
            name=row.name,
            category=row.category,
            entity=row.entity,
            object=row.object,
            aux=row.aux,
            aux_info_codes=dict(row.aux_info_codes),
            aux_info_is_target=row.aux_info_is_target,
        )
        for code, row in object_file.object_types.items()
    }
    actions: dict[str, AuditAction] = {}
    overrides: dict[tuple[str, str], AuditAction] = {}
    for code, row in action_file.actions.items():
        base = AuditAction(row.type, row.category, row.entity, row.message)
        actions[code] = base
        for object_type, override in row.on.items():
            overrides[(code, object_type)] = AuditAction(
                override.type or base.activity,
                override.category or base.category,
                override.entity or base.entity,
                override.message or base.message,
            )
        for action in (base, *(overrides[(code, o)] for o in row.on)):
            _check_template("audit_actions.toml", code, action.message, AUDIT_PLACEHOLDERS)
            if action.category is not None:
                _check_category_pairs(
                    "audit_actions.toml", code, action.category, [action.activity]
                )
    item_usage_actions = {
        code: ItemUsageAction(row.type, row.message) for code, row in item_file.actions.items()
    }
    for code, item_action in item_usage_actions.items():
        _check_category_pairs("item_usage_actions.toml", code, "file", [item_action.activity])
        _check_template(
            "item_usage_actions.toml", code, item_action.message, ITEM_USAGE_PLACEHOLDERS
        )
    for code, category in signin_file.categories.items():
        _check_template("signin.toml", code, category.message, SIGNIN_PLACEHOLDERS)
    return Tables(
        object_types=object_types,
        actions=actions,
        action_overrides=overrides,
        signin_categories={
            code: SigninCategory(row.outcome, row.message)
            for code, row in signin_file.categories.items()
        },
        signin_types={
            code: SigninType(row.reason, row.detail) for code, row in signin_file.types.items()
        },
        item_usage_actions=item_usage_actions,
        country_names=dict(country_file.names),
        country_display_names=dict(country_file.display_names),
        region_aliases={country: dict(names) for country, names in region_file.root.items()},
    )
