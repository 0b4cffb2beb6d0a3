"""The public surface: exactly what ``__all__`` lists, one exception root, typed package."""

from __future__ import annotations

from importlib import resources

import pytest

import onepassword_ecs
from onepassword_ecs import (
    MappingTableError,
    NormalizationError,
    OnePasswordEcsError,
)
from onepassword_ecs import _tables as tables_module


def test_all_is_exactly_the_public_names() -> None:
    """Nothing private leaks through __all__ and nothing public is left out of it."""
    public = {name for name in dir(onepassword_ecs) if not name.startswith("_")}
    # Not API: the __future__ import, and the data-only subpackage holding the tables.
    modules = {"annotations", "mappings"}
    assert set(onepassword_ecs.__all__) - {"__version__"} == public - modules
    assert sorted(onepassword_ecs.__all__) == sorted(set(onepassword_ecs.__all__))


def test_one_exception_root() -> None:
    """Every deliberate exception derives from OnePasswordEcsError."""
    assert issubclass(NormalizationError, OnePasswordEcsError)
    assert issubclass(NormalizationError, ValueError)
    assert issubclass(MappingTableError, OnePasswordEcsError)


def test_normalization_error_keeps_reason_and_path_across_pickling() -> None:
    """Errors cross process boundaries (convert --workers) with their fields intact."""
    import pickle

    error = NormalizationError("bad_timestamp", "expected a date", "$.timestamp")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.path, str(copy)) == (error.reason, error.path, str(error))


def test_package_ships_types_and_tables() -> None:
    """py.typed and the mapping tables are package data, read through importlib.resources."""
    assert resources.files("onepassword_ecs").joinpath("py.typed").is_file()
    names = {entry.name for entry in resources.files("onepassword_ecs.mappings").iterdir()}
    assert {
        "audit_actions.toml",
        "audit_object_types.toml",
        "signin.toml",
        "item_usage_actions.toml",
        "country_aliases.toml",
        "onepassword_fields.toml",
        "emitted_fields.toml",
    } <= names


def test_malformed_table_fails_at_load_naming_file_and_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A typo in a mapping table is reported when tables load, not mid-stream."""
    real = tables_module.load_table

    def broken(filename: str) -> dict[str, object]:
        data = real(filename)
        if filename == "audit_actions.toml":
            data["actions"]["join"]["type"] = "explode"  # type: ignore[index]
        return data

    monkeypatch.setattr(tables_module, "load_table", broken)
    tables_module.tables.cache_clear()
    try:
        with pytest.raises(MappingTableError) as caught:
            tables_module.tables()
        assert "audit_actions.toml" in str(caught.value)
        assert "join" in str(caught.value)
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        tables_module.tables()


def test_table_rejects_a_forbidden_ecs_pairing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A category override whose activity ECS does not allow (iam + access) is refused."""
    real = tables_module.load_table

    def broken(filename: str) -> dict[str, object]:
        data = real(filename)
        if filename == "audit_actions.toml":
            data["actions"]["view"]["category"] = "iam"  # type: ignore[index]
        return data

    monkeypatch.setattr(tables_module, "load_table", broken)
    tables_module.tables.cache_clear()
    try:
        with pytest.raises(MappingTableError, match="view"):
            tables_module.tables()
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        tables_module.tables()


def test_table_rejects_an_unknown_message_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template naming a placeholder the mapper does not fill fails at load time."""
    real = tables_module.load_table

    def broken(filename: str) -> dict[str, object]:
        data = real(filename)
        if filename == "signin.toml":
            data["categories"]["success"]["message"] = "{user} signed in from {city}"  # type: ignore[index]
        return data

    monkeypatch.setattr(tables_module, "load_table", broken)
    tables_module.tables.cache_clear()
    try:
        with pytest.raises(MappingTableError, match=r"signin.toml: success: .*\{city\}"):
            tables_module.tables()
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        tables_module.tables()
