"""The context file (TOML): who the admins are, what is privileged, what is normal here.

Rules are written once; what differs between organisations (their admins, their
privileged groups and vaults, their working hours, how many failures are too many)
comes from this file. Every key is optional; a rule whose required list is empty does
not run (``rules list`` says which list it waits for). An unknown key is an error, not
a silent no-op: a typo in ``admnis`` must not disable a rule without a word.

People may be named by uuid, email or name (the rules compare all three); groups,
vaults and items by uuid.

``[thresholds.<rule>]`` must name a rule that exists — by default one of the shipped
pack; a caller that loads other rule folders passes their names (``rule_names``) — for
the same reason: a threshold for ``brute_force_usr`` would otherwise change nothing.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._errors import DetectionError

__all__ = [
    "LIST_KEYS",
    "Context",
    "WorkingHours",
    "context_from_mapping",
    "load_context",
    "parse_duration",
    "shipped_rule_names",
]

OFFICIAL_CLIENT_APPS: tuple[str, ...] = (
    "1Password CLI",
    "1Password for Web",
    "1Password for Mac",
    "1Password SCIM Bridge",
    "1Password for Windows",
    "1Password for iOS",
    "1Password Browser Extension",
    "1Password for Android",
    "1Password for Linux",
    "1Password SDK",
)

# list key -> its default
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "admins": (),
    "privileged_groups": (),
    "privileged_vaults": (),
    "sensitive_items": (),
    "allowed_client_apps": OFFICIAL_CLIENT_APPS,
    "risky_countries": ("CN", "IR", "KP", "RU"),
    "provisioning_actors": (),
}
# list key -> the kind of thing its entries name, for resolving names through lookups.
NAMED_KINDS: dict[str, str] = {
    "admins": "users",
    "provisioning_actors": "users",
    "privileged_groups": "groups",
    "privileged_vaults": "vaults",
    "sensitive_items": "items",
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in a Sigma-style time span (``90s``, ``30m``, ``2h``, ``14d``)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a time span such as 30m, 2h or 14d, got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class WorkingHours:
    """When admins are expected to work, in their own time zone."""

    start: time = time(8, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset(range(5))  # Monday = 0
    timezone: str = "UTC"

    def contains(self, moment: datetime) -> bool:
        """Whether an aware ``moment`` falls inside working hours (local time)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        if local.weekday() not in self.days:
            return False
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # a night shift across midnight


@dataclass(frozen=True)
class Context:
    """The parsed context file; :func:`load_context` with no path gives the defaults."""

    lists: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(LIST_KEYS))
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    silence_hours: float = 24.0
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "(defaults)"

    def values(self, key: str) -> tuple[str, ...]:
        return self.lists.get(key, ())

    def threshold(self, rule: str, key: str) -> Any:
        return self.thresholds.get(rule, {}).get(key)

    def with_names(self, names: Mapping[str, Mapping[str, tuple[str, ...]]]) -> Context:
        """This context with every entry that names something also listing its uuids.

        ``names`` maps a kind (``users``, ``groups``, ``vaults``, ``items``) to lower-case
        names (and, for users, emails) and the uuids they belong to, as the lookups stage
        loads them from ``op`` exports. Events carry uuids only (in upper case; ``op``
        prints them in lower case), so a privileged group written as "Administrators"
        matches only once its uuid is on the list. The entries as written stay.
        """
        lists = dict(self.lists)
        for key, kind in NAMED_KINDS.items():
            table = names.get(kind, {})
            entries = list(lists.get(key, ()))
            for entry in tuple(entries):
                for uuid in table.get(entry.lower(), ()):
                    for spelling in (uuid.upper(), uuid.lower()):
                        if spelling not in entries:
                            entries.append(spelling)
            lists[key] = tuple(entries)
        return Context(
            lists=lists,
            working_hours=self.working_hours,
            silence_hours=self.silence_hours,
            thresholds=self.thresholds,
            source=self.source,
        )


def _fail(source: str, where: str, message: str) -> DetectionError:
    return DetectionError(f"{source}: {where}: {message}")


def _string_list(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(source, key, "expected a list of non-empty strings")
    return tuple(dict.fromkeys(value))


def _clock(source: str, key: str, value: Any) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise _fail(source, key, f"expected a time of day such as 08:00, got {value!r}") from None


def _working_hours(source: str, value: Any) -> WorkingHours:
    if not isinstance(value, dict):
        raise _fail(source, "working_hours", "expected a table { start, end, days, timezone }")
    unknown = set(value) - {"start", "end", "days", "timezone"}
    if unknown:
        raise _fail(source, "working_hours", f"unknown key(s) {sorted(unknown)}")
    hours = WorkingHours()
    start = _clock(source, "working_hours.start", value.get("start", "08:00"))
    end = _clock(source, "working_hours.end", value.get("end", "18:00"))
    days = value.get("days", list(_DAYS[:5]))
    if not isinstance(days, list) or not all(d in _DAYS for d in days):
        raise _fail(source, "working_hours.days", f"expected a list of {', '.join(_DAYS)}")
    zone = value.get("timezone", hours.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, TypeError, ValueError):
        raise _fail(source, "working_hours.timezone", f"unknown time zone {zone!r}") from None
    return WorkingHours(start, end, frozenset(_DAYS.index(d) for d in days), zone)


def shipped_rule_names() -> frozenset[str]:
    """The ids of the shipped pack's rules (each rule file is named after its rule)."""
    folder = resources.files("onepassword_ecs.rules")
    return frozenset(
        entry.name.removesuffix(".yml") for entry in folder.iterdir() if entry.name.endswith(".yml")
    )


def _thresholds(
    source: str, value: Any, rule_names: Collection[str] | None
) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise _fail(source, "thresholds", "expected a table of rule ids")
    known = shipped_rule_names() if rule_names is None else rule_names
    result: dict[str, dict[str, Any]] = {}
    for rule, settings in value.items():
        where = f"thresholds.{rule}"
        if rule not in known:
            close = difflib.get_close_matches(rule, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (rules list shows the ids)"
            raise _fail(source, where, f"no rule has this id{hint}")
        if not isinstance(settings, dict) or set(settings) - {"count", "window"}:
            raise _fail(source, where, 'expected { count = N, window = "60m" }')
        count = settings.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise _fail(source, f"{where}.count", "expected a whole number ≥ 1")
        window = settings.get("window")
        if window is not None:
            try:
                parse_duration(window)
            except ValueError as exc:
                raise _fail(source, f"{where}.window", str(exc)) from None
        result[rule] = dict(settings)
    return result


def load_context(path: str | Path | None, rule_names: Collection[str] | None = None) -> Context:
    """Read and check a context file; ``None`` gives the defaults.

    ``rule_names``: the rule ids ``[thresholds]`` may name (default: the shipped pack).
    """
    if path is None:
        return Context()
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DetectionError(f"{source}: cannot read the context file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DetectionError(f"{source}: not valid TOML ({exc})") from None
    return context_from_mapping(data, source, rule_names)


def context_from_mapping(
    data: Mapping[str, Any],
    source: str = "(context)",
    rule_names: Collection[str] | None = None,
) -> Context:
    """A context from already-parsed TOML (or JSON) data, checked as a file would be."""
    known = set(LIST_KEYS) | {"working_hours", "silence_hours", "thresholds"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(
            source, ", ".join(unknown), f"unknown key; known keys: {', '.join(sorted(known))}"
        )
    lists = {
        key: _string_list(source, key, data[key]) if key in data else default
        for key, default in LIST_KEYS.items()
    }
    silence = data.get("silence_hours", 24)
    if isinstance(silence, bool) or not isinstance(silence, int | float) or silence <= 0:
        raise _fail(source, "silence_hours", "expected a positive number of hours")
    return Context(
        lists=lists,
        working_hours=_working_hours(source, data["working_hours"])
        if "working_hours" in data
        else WorkingHours(),
        silence_hours=float(silence),
        thresholds=_thresholds(source, data.get("thresholds", {}), rule_names),
        source=source,
    )
