"""Shared pytest configuration.

Hypothesis profiles (selected with the ``HYPOTHESIS_PROFILE`` environment variable;
``CI=true`` selects ``ci`` when no profile is named):

* ``default``: a bounded number of examples per property so that the whole suite
  stays fast on a small machine; failures print a reproduction blob.
* ``ci``: the same budget as ``default``, for continuous integration.
* ``long``: 20,000 examples per property, for a deliberate bug hunt (about an hour in one
  pytest process here; ``HYPOTHESIS_LONG_EXAMPLES`` sets another count)::

      HYPOTHESIS_PROFILE=long pytest tests/test_properties.py tests/test_fuzz_cli.py

Tests that are heavier per example (the CLI fuzz target) scale their own budget
from the active profile (see ``tests/strategies.py: scaled``), so ``long`` makes them
longer too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "print_blob": True,
    # Records are built from many small strategies; generation is legitimately slow-ish.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("default", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=100, **_COMMON)
settings.register_profile(
    "long", max_examples=int(os.environ.get("HYPOTHESIS_LONG_EXAMPLES", "20000")), **_COMMON
)

_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "default"
)
settings.load_profile(_PROFILE)


# --- the investigation test store (tests/test_investigate*.py, report, mcp) ---------------
import importlib.util  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

import pytest  # noqa: E402


def _load_activity() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "scripts" / "activity.py"
    spec = importlib.util.spec_from_file_location("activity", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def activity() -> ModuleType:
    """scripts/activity.py: the month of activity with planted incidents."""
    return _load_activity()


@pytest.fixture(scope="session")
def activity_store(activity: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 300 people's month with the planted incidents, built once per session."""
    path = tmp_path_factory.mktemp("activity") / "activity.db"
    activity.build_store(path, activity.generate())
    return path


@pytest.fixture(autouse=True)
def _private_xdg_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes into the real home: the default store and collector state go here.

    ``collect`` with no destination writes to ``$XDG_DATA_HOME/onepassword-ecs/events.db``
    and keeps its cursors under ``$XDG_STATE_HOME``; subprocesses inherit these too.
    """
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))


# --- the collector tests' Events API stand-in (tests/test_collect*.py) ----------------------
from collections.abc import Iterator  # noqa: E402

from collect_helpers import new_token, start_stub  # noqa: E402
from events_api_stub import StubEventsApi  # noqa: E402


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bearer token, also set as ``EVENTS_API_TOKEN`` (the CLI reads it there)."""
    value = new_token()
    monkeypatch.setenv("EVENTS_API_TOKEN", value)
    return value


@pytest.fixture
def api(token: str) -> Iterator[StubEventsApi]:
    """The Events API stand-in on a free port of 127.0.0.1, serving ``token``; stopped after."""
    stub = start_stub(token)
    yield stub
    stub.stop()
