#!/usr/bin/env python3
"""Compare our output, field by field, with what Elastic and Sekoia expect for the same input.

Why this exists: the golden tests say what *we* decided; they cannot show where we part
ways with the systems a security team would otherwise use. Both peers publish test
cases (a raw 1Password record and the document their pipeline must produce), so every
one of their raw inputs can be run through :func:`onepassword_ecs.normalize` and the
two documents set side by side. Each difference must then be either a deliberate
decision (written down in ``docs/peer-comparison.md``) or a bug: this script finds
them, a person judges them. It is a development aid, not a test: the peers are often
wrong (docs/peer-comparison.md lists where), so a difference is not a failure, and the
exit status is 0 whatever it finds (2 only when there is no peer data to read).

How documents are compared:

* Both are flattened to dotted paths (``source.geo.location.lat``). Arrays are leaves,
  compared as whole values; two arrays holding the same values in another order count as
  ``same`` (with a note), because Elasticsearch gives the order of a keyword array no
  meaning: a search or aggregation sees the same set either way.
* Each path present in either document is ``same``, ``differs`` (both have it, the values
  differ), ``only-peer`` (the peer sets it, we don't) or ``only-ours``. For a one-sided
  field the note names the other document's paths holding the same value, which usually
  shows where the value went (Elastic's ``onepassword.uuid`` is our ``event.id``).
* Two date-time strings are compared as instants, at the peer's precision: Elastic cuts
  ``@timestamp`` to milliseconds and Sekoia to seconds, we keep the nine fractional
  digits 1Password sends, so ``...52.827Z`` and ``...52.827288935Z`` are the same instant.
* Pipeline and agent bookkeeping that no normalizer can reproduce is not compared (see
  ``PEERS`` below). ``ecs.version`` differs by construction (the peers target 8.x, we
  target 9.4.0), so it is reported once as a version note instead of once per input.
* Elastic inputs run with ``keep_original=True``, because Elastic's expected documents
  keep ``event.original`` (their tests set ``preserve_original_event``); Sekoia keeps the
  raw text in ``message``, which is not compared, so its inputs run without it.

Usage::

    python scripts/compare_peers.py --peers PATH              # readable per-input report
    python scripts/compare_peers.py --peers PATH --markdown   # summary table by field
    python scripts/compare_peers.py --peers PATH --json       # everything, machine-readable

PATH holds ``elastic/`` (the ``test-*.json`` pipeline tests of Elastic's ``1password``
integration, from elastic/integrations ``packages/1password/data_stream/*/_dev/test/pipeline``)
and ``sekoia/`` (the ``test_*.json`` cases of Sekoia's 1Password intake format).

Only the standard library, orjson and the package are used, so it runs in the project's
own environment with nothing else installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from onepassword_ecs import ECS_VERSION, NormalizationError, __version__, normalize

STATUSES = ("same", "differs", "only-peer", "only-ours")

# ISO 8601 / RFC 3339 date-time with an explicit offset, up to nanoseconds.
_DATE_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z")
_TEXT_WIDTH = 72  # longest value shown in the text report (event.original is ~800)
_HINT_LIMIT = 3  # at most this many "the other side has this value at" paths per field


@dataclass(frozen=True)
class Skip:
    """A field left out of the comparison, and why (shown in every report)."""

    pattern: str  # a dotted path, or a prefix ending in ".*"
    why: str
    peer_side_only: bool = False  # True: our field of the same name is still compared

    def matches(self, path: str) -> bool:
        if self.pattern.endswith(".*"):
            return path.startswith(self.pattern[:-1])
        return path == self.pattern


@dataclass(frozen=True)
class Peer:
    """One peer: where its test files are and what of its output cannot be compared."""

    key: str
    title: str
    skips: tuple[Skip, ...]
    keep_original: bool
    load: Callable[[Path], Iterator[Case]]


@dataclass
class Comparison:
    """One field of one input: how our value stands against the peer's."""

    path: str
    status: str
    peer: Any = None
    ours: Any = None
    note: str = ""


@dataclass
class Case:
    """One raw input with the document a peer expects for it, and, once run, the result."""

    peer: str
    source: str  # file name, and the event's position when the file holds several
    raw: str
    expected: dict[str, Any]
    dataset: str | None = None
    error: str | None = None
    fields: list[Comparison] = field(default_factory=list)
    peer_versions: set[str] = field(default_factory=set)

    def counts(self) -> Counter[str]:
        return Counter(comparison.status for comparison in self.fields)


# --------------------------------------------------------------------------- loading


def _read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _load_elastic(folder: Path) -> Iterator[Case]:
    """Elastic pipeline tests: ``test-X.json`` inputs beside ``test-X.json-expected.json``.

    The n-th event of the input file produced the n-th expected document. The
    ``*-sample_event.json`` files are outputs without their input, so they cannot be used.
    """
    for path in sorted(folder.glob("test-*.json")):
        if path.name.endswith("-expected.json"):
            continue
        expected_path = path.with_name(path.name + "-expected.json")
        if not expected_path.is_file():
            _warn(f"{path.name}: no {expected_path.name} beside it; skipped")
            continue
        events = _read_json(path).get("events", [])
        expected = _read_json(expected_path).get("expected", [])
        if len(events) != len(expected):
            _warn(
                f"{path.name}: {len(events)} events but {len(expected)} expected documents; "
                "comparing the first pairs only"
            )
        for index, (event, document) in enumerate(zip(events, expected, strict=False), 1):
            yield Case(
                peer="elastic",
                source=f"{path.name} #{index}",
                raw=event["message"],
                expected=document,
            )


def _load_sekoia(folder: Path) -> Iterator[Case]:
    """Sekoia intake tests: one ``{"input": {"message": raw}, "expected": doc}`` per file.

    The raw record carries Sekoia's ``sekoia_event_type`` routing field; ``normalize``
    reads it as the dataset hint, so no dataset is forced here.
    """
    for path in sorted(folder.glob("test_*.json")):
        data = _read_json(path)
        yield Case(
            peer="sekoia",
            source=path.name,
            raw=data["input"]["message"],
            expected=data["expected"],
        )


_BOOKKEEPING = "set by the agent or the ingest pipeline at collection time, not from the record"
PEERS = (
    Peer(
        key="elastic",
        title="Elastic",
        skips=(
            Skip("ecs.version", "the peer targets ECS 8.x, we target 9.4.0 (version note)"),
            Skip("event.created", _BOOKKEEPING),
            Skip("event.ingested", _BOOKKEEPING),
            Skip("tags", "the test harness's switches (preserve_original_event)"),
            Skip("agent.*", _BOOKKEEPING),
            Skip("input.*", _BOOKKEEPING),
            Skip("data_stream.*", _BOOKKEEPING),
            Skip("elastic_agent.*", _BOOKKEEPING),
        ),
        keep_original=True,
        load=_load_elastic,
    ),
    Peer(
        key="sekoia",
        title="Sekoia",
        skips=(
            Skip(
                "message",
                "the peer's message is the raw record; ours is a sentence (reported only-ours)",
                peer_side_only=True,
            ),
        ),
        keep_original=False,
        load=_load_sekoia,
    ),
)


# ------------------------------------------------------------------------- comparing


def flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects → ``{"dotted.path": leaf}``; arrays and empty objects are leaves."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def _instant(text: str) -> tuple[int, str] | None:
    """Seconds since the epoch and the fractional digits, or None if not a date-time.

    Parsed by hand because ``datetime`` stops at microseconds and we emit nanoseconds.
    """
    match = _DATE_TIME.match(text)
    if match is None:
        return None
    offset = "+00:00" if match[3] == "Z" else match[3]
    try:
        moment = datetime.fromisoformat(match[1] + offset)
    except ValueError:  # e.g. Elastic's test "21:16:62" (a 62nd second)
        return None
    return int(moment.timestamp()), match[2] or ""


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def compare_values(peer: Any, ours: Any) -> tuple[bool, str]:
    """Whether two leaf values agree, and a note when they agree only in a looser sense."""
    if peer == ours and type(peer) is type(ours):
        return True, ""
    if isinstance(peer, str) and isinstance(ours, str):
        peer_instant, our_instant = _instant(peer), _instant(ours)
        if peer_instant is not None and our_instant is not None:
            digits = len(peer_instant[1])
            ours_cut = our_instant[1].ljust(9, "0")[:digits]
            if peer_instant[0] == our_instant[0] and ours_cut == peer_instant[1]:
                return True, f"same instant at the peer's precision ({digits} fractional digits)"
            return False, "different instants"
    if isinstance(peer, list) and isinstance(ours, list):
        if Counter(map(_canonical, peer)) == Counter(map(_canonical, ours)):
            return True, "same values in a different order"
        # In each list's own order, so the report reads the same on every run.
        peer_keys, our_keys = set(map(_canonical, peer)), set(map(_canonical, ours))
        ours_only = [v for v in ours if _canonical(v) not in peer_keys]
        peer_only = [v for v in peer if _canonical(v) not in our_keys]
        parts = []
        if ours_only:
            parts.append(f"ours adds {_show(ours_only)}")
        if peer_only:
            parts.append(f"peer adds {_show(peer_only)}")
        return False, "; ".join(parts)
    return False, ""


def _where(value: Any, flat: dict[str, Any]) -> list[str]:
    """Paths of ``flat`` holding a value equal to ``value`` (hints for one-sided fields).

    Nulls and booleans match too much to say anything, so they get no hint.
    """
    if value is None or isinstance(value, bool):
        return []
    return [path for path, other in flat.items() if compare_values(value, other)[0]]


def compare_documents(
    expected: dict[str, Any], ours: dict[str, Any], skips: Iterable[Skip]
) -> list[Comparison]:
    """Every path of either document, judged; skipped fields are left out entirely."""
    skips = tuple(skips)

    def kept(flat: dict[str, Any], side: str) -> dict[str, Any]:
        return {
            path: value
            for path, value in flat.items()
            if not any(s.matches(path) and (side == "peer" or not s.peer_side_only) for s in skips)
        }

    peer_flat = kept(flatten(expected), "peer")
    our_flat = kept(flatten(ours), "ours")
    results = []
    for path in sorted(peer_flat.keys() | our_flat.keys(), key=_field_order):
        if path in peer_flat and path in our_flat:
            agree, note = compare_values(peer_flat[path], our_flat[path])
            status = "same" if agree else "differs"
            results.append(Comparison(path, status, peer_flat[path], our_flat[path], note))
        elif path in peer_flat:
            found = _where(peer_flat[path], our_flat)
            note = f"ours has this value at {_paths(found)}" if found else ""
            if peer_flat[path] is None:
                note = "the peer keeps a null"
            results.append(Comparison(path, "only-peer", peer=peer_flat[path], note=note))
        else:
            found = _where(our_flat[path], peer_flat)
            note = f"peer has this value at {_paths(found)}" if found else ""
            results.append(Comparison(path, "only-ours", ours=our_flat[path], note=note))
    return results


def _field_order(path: str) -> tuple[int, str]:
    """``@timestamp`` first, then alphabetical, so a field sits next to its siblings."""
    return (0 if path.startswith("@") else 1, path)


def _paths(paths: list[str]) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:_HINT_LIMIT])
    return shown + (f" (+{len(paths) - _HINT_LIMIT} more)" if len(paths) > _HINT_LIMIT else "")


def run_case(case: Case, peer: Peer) -> None:
    """Normalize the case's raw input and fill in its comparisons (or its error)."""
    version = case.expected.get("ecs", {}).get("version")
    if isinstance(version, str):
        case.peer_versions.add(version)
    try:
        ours = normalize(case.raw, keep_original=peer.keep_original)
    except NormalizationError as exc:  # reported, never fatal: this is a report
        case.error = str(exc)  # names the reason code already
        return
    case.dataset = ours.get("event", {}).get("dataset")
    case.fields = compare_documents(case.expected, ours, peer.skips)


def run(peers_dir: Path) -> list[tuple[Peer, list[Case]]]:
    results = []
    for peer in PEERS:
        folder = peers_dir / peer.key
        if not folder.is_dir():
            _warn(f"no {peer.key}/ folder under {peers_dir}; {peer.title} not compared")
            results.append((peer, []))
            continue
        cases = list(peer.load(folder))
        for case in cases:
            run_case(case, peer)
        results.append((peer, cases))
    return results


# ------------------------------------------------------------------------- reporting


def _show(value: Any, width: int | None = _TEXT_WIDTH) -> str:
    text = orjson.dumps(value).decode()
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def _totals(cases: list[Case]) -> Counter[str]:
    total: Counter[str] = Counter()
    for case in cases:
        total.update(case.counts())
    return total


def _version_note(results: list[tuple[Peer, list[Case]]]) -> list[str]:
    notes = []
    for peer, cases in results:
        by_version: dict[str, list[str]] = {}
        for case in cases:
            for version in sorted(case.peer_versions):
                name = case.source.split(" ")[0]
                if name not in by_version.setdefault(version, []):
                    by_version[version].append(name)
        if by_version:
            listed = "; ".join(f"{v} ({', '.join(n)})" for v, n in sorted(by_version.items()))
            notes.append(
                f"{peer.title} expects ecs.version {listed}; ours is {ECS_VERSION}. "
                "Not compared field by field."
            )
    return notes


def _skip_lines(results: list[tuple[Peer, list[Case]]]) -> list[str]:
    lines = []
    for peer, _cases in results:
        for skip in peer.skips:
            side = "the peer's " if skip.peer_side_only else ""
            lines.append(f"{peer.title}: {side}`{skip.pattern}` — {skip.why}")
    return lines


def report_text(results: list[tuple[Peer, list[Case]]], peers_dir: Path) -> str:
    out = [
        f"onepassword-ecs {__version__} (ECS {ECS_VERSION}) against the peer tests in {peers_dir}",
        "",
    ]
    out += [f"Version note: {note}" for note in _version_note(results)]
    for peer, cases in results:
        for case in cases:
            out.append("")
            out.append(f"== {peer.title}  {case.source}  → {case.dataset or '(not normalized)'}")
            if case.error:
                out.append(f"  normalize failed: {case.error}")
                continue
            for item in case.fields:
                if item.status == "same":
                    values = _show(item.ours)
                elif item.status == "differs":
                    values = f"peer {_show(item.peer, 40)}  ours {_show(item.ours, 40)}"
                elif item.status == "only-peer":
                    values = f"peer {_show(item.peer)}"
                else:
                    values = f"ours {_show(item.ours)}"
                note = f"  [{item.note}]" if item.note else ""
                out.append(f"  {item.status:<10} {item.path:<34} {values}{note}")
            counts = case.counts()
            out.append("  -- " + ", ".join(f"{s} {counts[s]}" for s in STATUSES))
    out += ["", "Totals"]
    for peer, cases in results:
        total = _totals(cases)
        errors = sum(1 for case in cases if case.error)
        summary = ", ".join(f"{s} {total[s]}" for s in STATUSES)
        failed = f", {errors} failed to normalize" if errors else ""
        out.append(f"  {peer.title}: {len(cases)} inputs{failed}: {summary}")
    out += ["", "Not compared:"]
    out += [f"  {line}" for line in _skip_lines(results)]
    return "\n".join(out) + "\n"


def report_markdown(results: list[tuple[Peer, list[Case]]]) -> str:
    """Totals per peer, then one row per field with each peer's status counts.

    A cell reads ``differs 2, only-peer 1`` (how many of that peer's inputs fell in each
    status for this field); ``—`` means the field appeared in none of that peer's
    comparisons. The note gathers the looser agreements and the "value found at" hints.
    """
    out = [
        "| peer | inputs | failed | same | differs | only-peer | only-ours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for peer, cases in results:
        total = _totals(cases)
        row = " | ".join(str(total[s]) for s in STATUSES)
        failed = sum(1 for case in cases if case.error)
        out.append(f"| {peer.title} | {len(cases)} | {failed} | {row} |")
    out.append("")
    out += [f"Version note: {note}" for note in _version_note(results)]
    out.append("")

    titles = [peer.title for peer, _cases in results]
    per_field: dict[str, dict[str, Counter[str]]] = {}
    notes: dict[str, dict[str, list[str]]] = {}
    for peer, cases in results:
        for case in cases:
            for item in case.fields:
                per_field.setdefault(item.path, {}).setdefault(peer.title, Counter())[
                    item.status
                ] += 1
                if item.note:
                    seen = notes.setdefault(item.path, {}).setdefault(peer.title, [])
                    if item.note not in seen:
                        seen.append(item.note)
    out.append("| field | " + " | ".join(titles) + " | note |")
    out.append("|---|" + "---|" * len(titles) + "---|")
    for path in sorted(per_field, key=_field_order):
        cells = []
        for title in titles:
            counts = per_field[path].get(title)
            cells.append(
                ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]) if counts else "—"
            )
        note = "; ".join(
            f"{title}: {' / '.join(found)}" for title, found in notes.get(path, {}).items()
        )
        note = note.replace("|", "\\|")  # a pipe would end the table cell
        out.append(f"| `{path}` | " + " | ".join(cells) + f" | {note} |")
    out += ["", "Not compared:", ""]
    out += [f"- {line}" for line in _skip_lines(results)]
    return "\n".join(out) + "\n"


def report_json(results: list[tuple[Peer, list[Case]]], peers_dir: Path) -> bytes:
    document = {
        "peers": str(peers_dir),
        "ours": {"version": __version__, "ecs_version": ECS_VERSION},
        "version_notes": _version_note(results),
        "not_compared": [
            {"peer": peer.key, "field": s.pattern, "why": s.why, "peer_side_only": s.peer_side_only}
            for peer, _cases in results
            for s in peer.skips
        ],
        "totals": {
            peer.key: {
                "inputs": len(cases),
                "failed": sum(1 for case in cases if case.error),
                **{s: _totals(cases)[s] for s in STATUSES},
            }
            for peer, cases in results
        },
        "cases": [
            {
                "peer": case.peer,
                "source": case.source,
                "dataset": case.dataset,
                "error": case.error,
                "fields": [
                    {
                        "field": item.path,
                        "status": item.status,
                        **({"peer": item.peer} if item.status != "only-ours" else {}),
                        **({"ours": item.ours} if item.status != "only-peer" else {}),
                        **({"note": item.note} if item.note else {}),
                    }
                    for item in case.fields
                ],
            }
            for _peer, cases in results
            for case in cases
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _warn(message: str) -> None:
    print(f"compare_peers: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compare onepassword-ecs output with Elastic's and Sekoia's expected "
        "documents for the same raw 1Password records (a report; exits 0).",
    )
    parser.add_argument(
        "--peers",
        type=Path,
        required=True,
        help="folder holding elastic/ and sekoia/: the peers' published test cases",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--markdown", action="store_true", help="summary table grouped by field")
    mode.add_argument("--json", action="store_true", help="every comparison as JSON")
    args = parser.parse_args(argv)

    peers_dir: Path = args.peers
    if not peers_dir.is_dir():
        _warn(f"peers folder not found: {peers_dir} (use --peers PATH)")
        return 2
    results = run(peers_dir)
    if args.json:
        sys.stdout.buffer.write(report_json(results, peers_dir))
    elif args.markdown:
        sys.stdout.write(report_markdown(results))
    else:
        sys.stdout.write(report_text(results, peers_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
