"""Redaction of hostile names: control and bidi characters must not let a name through.

The message builder escapes control, separator and bidi characters (``Dana\\u200f Levi``
is written ``Dana\\\\u200f Levi`` in ``message``), so a redactor that looks only for the
name as sent misses it there (issue 21, item 1). The property below converts sign-ins,
audit events and item usages whose people carry any name Hypothesis can produce,
through :func:`onepassword_ecs.stream.convert` into an NDJSON output, an error stream and
an event store, and looks for the name, raw, escaped as the message escapes it, escaped
as JSON escapes it, and case-folded, in every byte of the three.

Also here: other spellings of a redacted address (issue 21, item 24).
"""

from __future__ import annotations

import copy
import io
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from onepassword_ecs import normalize
from onepassword_ecs.mapping import readable_message
from onepassword_ecs.sinks import EventStore
from onepassword_ecs.stages import DROPPED_TEXT, Redactor, parse_rules, withhold_input
from onepassword_ecs.stream import Batch, Chunk, SinkResult, Tally, convert

KEY = b"hostile-names-test-key-0123456789"
SHORT = 4  # values shorter than this are replaced inside text only as whole words
STAGES = Path(__file__).resolve().parents[1] / "fixtures" / "stages" / "redact-hash"
RECORDS = {
    "signin": (json.loads((STAGES / "signin_ip_blocked.json").read_text()), ("target_user",)),
    "audit": (
        json.loads((STAGES / "join_gm_manager.json").read_text()),
        ("actor_details", "aux_details"),
    ),
    "item_usage": (json.loads((STAGES / "item_usage_ipv6.json").read_text()), ("user",)),
}
NEUTRAL = "Qx"  # the name the background record carries: too short to match anything

# Characters the message escapes, over-represented so most examples hold some.
_HOSTILE = "\u200f\u200e\u202e\u2066\u2069\u061c\u2028\u2029\t\n\r\x1b\x00\x7f\x85\x9b"
_NAMES = st.one_of(
    st.text(min_size=1, max_size=24),
    st.text(st.sampled_from(_HOSTILE + "DanaLevi ßſİΣσς\\\"'@.-"), min_size=1, max_size=24),
    st.lists(
        st.sampled_from(["Dana", "Levi", "Ωmega", "Nuñez", *_HOSTILE, " "]), min_size=1, max_size=6
    ).map("".join),
)


class _Memory:
    """An error or output sink into memory, as the CLI's file sinks but inspectable."""

    def __init__(self, name: str, *, withhold: bool = False) -> None:
        self.name = name
        self.data = io.BytesIO()
        self._withhold = withhold

    def write(self, batch: Batch) -> SinkResult:
        lines = batch.documents()
        if self._withhold:  # what the CLI does to error lines when redacting
            lines = [withhold_input(line) for line in lines]
        self.data.write(b"".join(line + b"\n" for line in lines))
        return SinkResult(accepted=len(lines))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _store_text(path: Path) -> str:
    """Every text and blob of every table of the store, one per line."""
    found: list[str] = []
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master")]
        for table in tables:
            kind = connection.execute(
                "select type from sqlite_master where name = ?", (table,)
            ).fetchone()[0]
            if kind != "table":
                continue
            for row in connection.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        found.append(value)
                    elif isinstance(value, bytes):
                        found.append(value.decode("utf-8", "replace"))
    connection.close()
    return "\n".join(found)


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.append(key)
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def _everything(documents: bytes, errors: bytes, store: str) -> str:
    """The output as text: the raw bytes (JSON escapes as written) and every decoded
    string (escapes undone), the error stream likewise, and the store's contents."""
    parts = [documents.decode("utf-8", "replace"), errors.decode("utf-8", "replace"), store]
    for blob in (documents, errors):
        for line in blob.splitlines():
            decoded: list[str] = []
            _strings(orjson.loads(line), decoded)
            parts.extend(decoded)
    return "\n".join(parts)


def _record(kind: str, name: str) -> dict[str, Any]:
    record, people = RECORDS[kind]
    record = copy.deepcopy(record)
    for key in people:
        record[key]["name"] = name
    return record


def _run(raw: bytes, redactor: Redactor | None, store_path: Path | None) -> tuple[bytes, bytes]:
    output, errors = _Memory("ndjson"), _Memory("errors", withhold=redactor is not None)
    sinks: list[Any] = [output]
    store = EventStore.open(store_path) if store_path is not None else None
    if store is not None:
        sinks.append(store)
    tally = Tally()
    try:
        convert(
            [Chunk({"source": "generated"}, [(1, raw)])],
            sinks=sinks,
            errors=errors,
            tally=tally,
            keep_original=True,
            stages=(redactor,) if redactor is not None else (),
        )
        if store is not None:
            store.flush()
    finally:
        if store is not None:
            store.close()
    assert tally.read == tally.written + tally.rejected_total == 1
    return output.data.getvalue(), errors.data.getvalue()


def _variants(name: str) -> set[str]:
    """How a name may show: as sent, as the message escapes it, as JSON escapes it."""
    return {
        name,
        readable_message(name),
        json.dumps(name, ensure_ascii=False)[1:-1],
        json.dumps(name)[1:-1],
    }


@settings(max_examples=60)
@given(
    name=_NAMES,
    kind=st.sampled_from(sorted(RECORDS)),
    mode=st.sampled_from(["hash", "mask", "drop"]),
)
@example(name="Dana\u200f Levi", kind="signin", mode="hash")
@example(name="Dana\tLevi", kind="audit", mode="mask")
@example(name="Dana\u2028Levi\x1b[2J", kind="item_usage", mode="drop")
@example(name="Dana\nLevi", kind="signin", mode="mask")
def test_no_redacted_name_survives_anywhere(name: str, kind: str, mode: str) -> None:
    redactor = Redactor(parse_rules([f"people={mode}"]), key=KEY)
    raw = json.dumps(_record(kind, name)).encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "events.db"
        documents, errors = _run(raw, redactor, store_path)
        store = _store_text(store_path)

    # Whole fields first: whatever the name, no person field keeps it.
    for line in documents.splitlines():
        document = orjson.loads(line)
        user = document.get("user", {})
        for person in (user, user.get("target", {})):
            assert person.get("name") != name and person.get("full_name") != name
        assert name not in document.get("related", {}).get("user", [])

    # Then anywhere: for names the rest of the record does not already hold (a short
    # name is replaced inside text only as a whole word, by design; a name such as
    # "sign" would also be in the mapper's own words, which redaction leaves alone).
    assume(len(name.strip()) >= SHORT)
    background_raw = json.dumps(_record(kind, NEUTRAL)).encode("utf-8")
    background = _everything(*_run(background_raw, None, None), "").casefold()
    variants = _variants(name)
    assume(not any(variant.casefold() in background for variant in variants))
    # What redaction writes instead (a pseudonym, a mask, "[redacted]") may contain the
    # name by chance ("anon" is in every pseudonym): those are taken out first.
    text = _everything(documents, errors, store)
    made = {DROPPED_TEXT}
    if mode != "drop":
        replacement = str(redactor._replacement(name, "name", mode))
        made |= {replacement, readable_message(replacement)}
    for instead in sorted(made, key=len, reverse=True):
        text = text.replace(instead, "\x00")
    folded = text.casefold()
    for variant in variants:
        assert variant not in text, (variant, mode, kind)
        assert variant.casefold() not in folded, (variant, mode, kind)


def test_the_reported_leak_is_closed() -> None:
    """Issue 21's repro: a sign-in for "Dana\\u200f Levi" with people=hash."""
    redactor = Redactor(parse_rules(["people=hash"]), key=KEY)
    raw = json.dumps(_record("signin", "Dana\u200f Levi")).encode("utf-8")
    documents, _ = _run(raw, redactor, None)
    document = orjson.loads(documents)
    assert "Dana" not in document["message"] and "Levi" not in document["message"]
    assert document["message"].startswith(redactor.pseudonym("Dana\u200f Levi") + " failed")


def test_a_mask_keeps_the_message_free_of_controls() -> None:
    """A mask keeps a name's first character; in ``message`` it is escaped like any."""
    redactor = Redactor(parse_rules(["people=mask"]), key=KEY)
    raw = json.dumps(_record("signin", "\u202eDana Levi")).encode("utf-8")
    document = orjson.loads(_run(raw, redactor, None)[0])
    assert document["user"]["name"] == "\u202e*** L***"
    assert document["message"].startswith("\\u202e*** L*** failed")
    assert document["message"] == readable_message(document["message"])


# --- item 24: other spellings of a redacted address ----------------------------------


@pytest.mark.parametrize(
    ("address", "spelling"),
    [
        ("2001:db8:4f2a:17::c0a8:1", "2001:0db8:4f2a:0017:0000:0000:c0a8:0001"),
        ("2001:db8:4f2a:17::c0a8:1", "2001:DB8:4F2A:17:0:0:C0A8:1"),
        ("198.51.100.23", "198.051.100.023"),
        ("198.51.100.23", "::ffff:198.51.100.23"),
    ],
)
@pytest.mark.parametrize("mode", ["hash", "mask", "drop"])
def test_other_spellings_of_an_address_are_redacted(address: str, spelling: str, mode: str) -> None:
    record = _record("item_usage", "Eun-ji Park")
    record["client"]["ip_address"] = address
    # Pass-through fields the mapper keeps as sent, and free text holding the address.
    record["client"]["proxy_address"] = spelling
    record["extra_note"] = f"seen from {spelling}."
    redactor = Redactor(parse_rules([f"addresses={mode}"]), key=KEY)
    document = redactor(normalize(json.dumps(record).encode("utf-8"), keep_original=True))
    text = json.dumps(document, ensure_ascii=False).casefold()
    assert spelling.casefold() not in text
    assert address.casefold() not in text
    # The sentence's full stop survives; the pseudonym is one per address.
    if mode == "hash":
        assert f"seen from {redactor.pseudonym(address)}." in text
        plain = dict(record, extra_note="")
        plain["client"] = dict(record["client"], ip_address=spelling)
        again = redactor(normalize(json.dumps(plain).encode("utf-8")))
        assert again["client"]["address"] == redactor.pseudonym(address)


def test_an_address_inside_a_longer_word_is_left_alone() -> None:
    """Only a whole run of address characters is parsed: a version string that merely
    contains the digits stays as it is."""
    record = _record("item_usage", "Eun-ji Park")
    record["client"]["ip_address"] = "10.1.2.3"
    record["client"]["app_version"] = "110.1.2.30"
    redactor = Redactor(parse_rules(["addresses=hash"]), key=KEY)
    document = redactor(normalize(json.dumps(record).encode("utf-8"), keep_original=True))
    assert document["onepassword"]["client"]["app_version"] == "110.1.2.30"
