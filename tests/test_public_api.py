"""The public surface: exactly what ``__all__`` lists, one exception root, typed package."""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

import onepassword_ecs
from onepassword_ecs import (
    Dataset,
    MappingTableError,
    NormalizationError,
    OnePasswordEcsError,
)
from onepassword_ecs.mapping import _tables as tables_module


def test_all_is_exactly_the_public_names() -> None:
    """Nothing private leaks through __all__ and nothing public is left out of it."""
    public = {name for name in dir(onepassword_ecs) if not name.startswith("_")}
    # Not API: the __future__ import, and the sub-packages (the rooms behind the surface,
    # and the data-only one holding the tables), which importing them binds as names.
    rooms = {module.name for module in pkgutil.iter_modules(onepassword_ecs.__path__)}
    data = {"annotations", "mappings", "rules"}
    modules = data | {room for room in rooms if not room.startswith("_")}
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
        "region_aliases.toml",
    } <= names


def _load_changed_tables(
    monkeypatch: pytest.MonkeyPatch, filename: str, change: Callable[[Any], None]
) -> None:
    """Load the tables with ``change`` applied to one file's data, then restore them."""
    real = tables_module.load_table

    def changed(name: str) -> dict[str, Any]:
        data = real(name)
        if name == filename:
            change(data)
        return data

    monkeypatch.setattr(tables_module, "load_table", changed)
    tables_module.tables.cache_clear()
    try:
        tables_module.tables()
    finally:
        monkeypatch.undo()
        tables_module.tables.cache_clear()
        tables_module.tables()


def test_malformed_table_fails_at_load_naming_file_and_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A typo in a mapping table is reported when tables load, not mid-stream."""

    def typo(data: Any) -> None:
        data["actions"]["join"]["type"] = "explode"

    with pytest.raises(MappingTableError) as caught:
        _load_changed_tables(monkeypatch, "audit_actions.toml", typo)
    assert "audit_actions.toml" in str(caught.value)
    assert "join" in str(caught.value)


def test_table_rejects_a_forbidden_ecs_pairing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A category override whose activity ECS does not allow (iam + access) is refused."""

    def iam_view(data: Any) -> None:
        data["actions"]["view"]["category"] = "iam"

    with pytest.raises(MappingTableError, match="view"):
        _load_changed_tables(monkeypatch, "audit_actions.toml", iam_view)


def test_table_rejects_an_unknown_message_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template naming a placeholder the mapper does not fill fails at load time."""

    def city(data: Any) -> None:
        data["categories"]["success"]["message"] = "{user} signed in from {city}"

    with pytest.raises(MappingTableError, match=r"signin.toml: success: .*\{city\}"):
        _load_changed_tables(monkeypatch, "signin.toml", city)


# --- only documented exceptions, whatever the arguments (issue 9, item 11) --------------

_ODD_VALUES: list[Any] = [
    None, 0, -1, 1.5, float("nan"), True, "", " ", "bogus", "elasticsearch ", [], {}, (),
    ["audit_events"], {"a": 1}, object(), b"", b"\xff", bytearray(b"{"), memoryview(b"[]"),
    Dataset.audit_events, "+99:00", "UTC", "Mars/Olympus_Mons",
]  # fmt: skip
_RECORD = {"uuid": "X", "timestamp": "2024-01-02T03:04:05Z", "category": "success"}


def _calls() -> list[tuple[str, Callable[[Any], Any]]]:
    """Every public function, once per parameter, with the others at good values."""
    return [
        ("normalize(record)", lambda value: onepassword_ecs.normalize(value)),
        ("normalize(dataset=)", lambda value: onepassword_ecs.normalize(_RECORD, dataset=value)),
        (
            "normalize(keep_original=)",
            lambda value: onepassword_ecs.normalize(_RECORD, keep_original=value),
        ),
        (
            "normalize(assume_timezone=)",
            lambda value: onepassword_ecs.normalize(
                {**_RECORD, "timestamp": "2024-01-02 03:04:05"}, assume_timezone=value
            ),
        ),
        (
            "normalize(data_stream_namespace=)",
            lambda value: onepassword_ecs.normalize(_RECORD, data_stream_namespace=value),
        ),
        ("detect_dataset(record)", lambda value: onepassword_ecs.detect_dataset(value)),
        (
            "detect_dataset(dataset)",
            lambda value: onepassword_ecs.detect_dataset(_RECORD, value),
        ),
        (
            "detect_dataset(hint)",
            lambda value: onepassword_ecs.detect_dataset({"sekoia_event_type": value}),
        ),
        ("validate(doc)", lambda value: onepassword_ecs.validate(value)),
        ("validate(field)", lambda value: onepassword_ecs.validate({"message": value})),
        ("index_template(name=)", lambda value: onepassword_ecs.index_template(name=value)),
        ("index_template(pattern=)", lambda value: onepassword_ecs.index_template(pattern=value)),
        ("index_template(flavor=)", lambda value: onepassword_ecs.index_template(flavor=value)),
        (
            "index_template(logs_components=)",
            lambda value: onepassword_ecs.index_template(logs_components=value),
        ),
    ]


@pytest.mark.parametrize(("label", "call"), _calls(), ids=[label for label, _ in _calls()])
def test_public_functions_raise_only_documented_exceptions(
    label: str, call: Callable[[Any], Any]
) -> None:
    """A bad argument gives an OnePasswordEcsError subclass with a message, never an
    AttributeError or a bare TypeError/ValueError from deep inside."""
    for value in _ODD_VALUES:
        try:
            call(value)
        except OnePasswordEcsError as error:
            assert str(error).strip(), (label, value)
        except Exception as error:
            pytest.fail(f"{label} with {value!r} raised {type(error).__name__}: {error}")


def test_argument_error_is_documented_and_compatible() -> None:
    """ArgumentError is public, under the root, and still a ValueError and TypeError."""
    assert "ArgumentError" in onepassword_ecs.__all__
    assert issubclass(onepassword_ecs.ArgumentError, OnePasswordEcsError)
    assert issubclass(onepassword_ecs.ArgumentError, ValueError)
    assert issubclass(onepassword_ecs.ArgumentError, TypeError)
    with pytest.raises(onepassword_ecs.ArgumentError, match="flavor must be one of"):
        onepassword_ecs.index_template(flavor="splunk")
    with pytest.raises(NormalizationError, match="not_an_object"):
        onepassword_ecs.detect_dataset(["not", "a", "record"])  # type: ignore[arg-type]
