"""Lookup files and the enrichment stage: shapes, refusals, reloads, what is filled."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from onepassword_ecs import normalize, validate
from onepassword_ecs._errors import LookupFileError
from onepassword_ecs.golden._cases import discover_cases
from onepassword_ecs.mapping import render_message
from onepassword_ecs.stages import Enricher, LookupSource, enrich, load_lookups

REPO = Path(__file__).resolve().parents[1]
STAGES = REPO / "fixtures" / "stages"
LOOKUPS = STAGES / "lookups"


def _write(path: Path, value: Any) -> Path:
    path.write_bytes(orjson.dumps(value))
    return path


def test_each_export_shape_is_recognised() -> None:
    lookups = load_lookups([LOOKUPS])
    assert lookups.users["htyqkkk7sghlr5g5s3i3krirpu"] == ("Bob Tanaka", "bob.tanaka@acme.example")
    assert lookups.groups["k5dmgfs5vskknttlsxaxc7uwlk"] == "Administrators"
    assert lookups.vaults["aqk6toxie3nopus2rmrgtn4swg"] == "Infrastructure"
    assert lookups.items["ud6sqo4flepwwwiqnlz4ewqays"] == "Bank wire portal"
    # An item's vault names the vault too (Private is in no vault export).
    assert lookups.vaults["ixxvvuedpph7j7eoig7pfopm4e"] == "Private"
    # CSV: a vault, and a user's name and email on two rows.
    assert lookups.vaults["4wujusyj63wmlswsipu5aff5rs"] == "Legacy shared"
    assert lookups.users["hdfds46gnlzaemb2lesvzizais"] == (
        "Provision Manager",
        "scim-bridge@acme.example",
    )


def test_identifiers_match_case_insensitively() -> None:
    lookups = load_lookups([LOOKUPS])
    assert lookups.name_of("K5DMGFS5VSKKNTTLSXAXC7UWLK") == "Administrators"
    assert lookups.name_of("IXXVVUEDPPH7J7EOIG7PFOPM4E") == "Private"


@pytest.mark.parametrize("name", ["op-item-get.json", "passwords.csv"])
def test_a_file_with_secrets_is_refused_without_quoting_them(name: str) -> None:
    with pytest.raises(LookupFileError) as caught:
        load_lookups([STAGES / "refused" / name])
    text = str(caught.value)
    assert name in text
    assert "fixture-not-a-real-password" not in text
    assert "treasury" not in text


def test_a_secret_anywhere_in_an_entry_refuses_the_whole_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "items.json",
        [
            {"id": "a" * 26, "title": "fine", "vault": {"id": "v" * 26, "name": "V"}},
            {"id": "b" * 26, "title": "x", "vault": {"id": "v" * 26}, "urls": [{"password": "p"}]},
        ],
    )
    with pytest.raises(LookupFileError, match="entry 1 holds 'password'"):
        load_lookups([path])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'[{"id": "x", "name": "only a name"}]', "cannot tell"),
        (b'{"not": "a list"', "not valid JSON"),
        (b'"text"', "JSON array"),
        (b'[{"name": "no id", "email": "a@b"}]', 'no "id"'),
    ],
)
def test_unusable_json_is_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    with pytest.raises(LookupFileError, match=problem):
        load_lookups([path])


def test_csv_rows_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("uuid,kind,name\nabc,planet,Mars\n", encoding="utf-8")
    with pytest.raises(LookupFileError, match="line 2: kind must be one of"):
        load_lookups([path])


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LookupFileError, match="no such lookup file"):
        load_lookups([tmp_path / "absent.json"])


def test_folder_reads_json_and_csv_only(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a lookup", encoding="utf-8")
    (tmp_path / "g.csv").write_text("g1,group,Ops\n", encoding="utf-8")
    assert load_lookups([tmp_path]).groups == {"g1": "Ops"}


def test_render_message_without_names_is_the_mappers_message() -> None:
    """The renderer and the mappers agree on every golden case, so enrichment's messages
    differ from the mapper's only by the names."""
    cases = discover_cases([REPO / "fixtures"])
    compared = 0
    for case in cases:
        try:
            document = normalize(case.raw_path.read_bytes())
        except ValueError:
            continue
        assert render_message(document) == document["message"], case.name
        compared += 1
    assert compared > 100


def _join_uuid_only() -> dict[str, Any]:
    raw = (STAGES / "enrich" / "join_gm_uuids_only.json").read_bytes()
    return normalize(raw)


def test_enrichment_fills_marks_and_renames() -> None:
    document = enrich(_join_uuid_only(), load_lookups([LOOKUPS]))
    assert document["message"] == (
        "Alice Kowalski added Bob Tanaka to group Administrators as a member"
    )
    assert document["user"]["email"] == "alice.kowalski@acme.example"
    assert "Bob Tanaka" in document["related"]["user"]
    assert "user.target.email" in document["onepassword"]["enrichment"]["fields"]
    assert validate(document) == []


def test_enrichment_never_overwrites_what_the_api_sent() -> None:
    raw = (STAGES / "enrich" / "raw_names_not_overwritten.json").read_bytes()
    document = enrich(normalize(raw), load_lookups([LOOKUPS]))
    assert document["user"]["name"] == "Alice K."
    assert document["onepassword"]["enrichment"]["fields"] == ["group.name"]


def test_nothing_known_leaves_the_document_alone() -> None:
    raw = (STAGES / "enrich" / "unknown_uuids_unchanged.json").read_bytes()
    before = normalize(raw)
    assert enrich(normalize(raw), load_lookups([LOOKUPS])) == before


def test_enricher_pickles_as_its_paths_and_loads_again() -> None:
    stage = Enricher([LOOKUPS])
    payload = pickle.dumps(stage)
    assert b"Administrators" not in payload  # the tables do not travel to workers
    copy = pickle.loads(payload)
    assert copy(_join_uuid_only())["user"]["target"]["group"]["name"] == "Administrators"


def test_lookups_reload_when_a_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("k5dmgfs5vskknttlsxaxc7uwlk,group,Admins\n", encoding="utf-8")
    source = LookupSource([tmp_path], recheck_seconds=0)
    assert source.current().groups["k5dmgfs5vskknttlsxaxc7uwlk"] == "Admins"
    path.write_text("k5dmgfs5vskknttlsxaxc7uwlk,group,Administrators\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert source.current().groups["k5dmgfs5vskknttlsxaxc7uwlk"] == "Administrators"
    # A file added to the folder is read too.
    (tmp_path / "vaults.csv").write_text("v1,vault,Ops\n", encoding="utf-8")
    assert source.current().vaults == {"v1": "Ops"}


def test_a_broken_reload_keeps_the_tables_it_had(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("g1,group,Ops\n", encoding="utf-8")
    source = LookupSource([tmp_path], recheck_seconds=0)
    assert source.current().groups == {"g1": "Ops"}
    path.write_text("g1,group,Ops,hunter2-secret\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert source.current().groups == {"g1": "Ops"}
    assert source.problem is not None and "3 columns" in source.problem
    assert "hunter2" not in capsys.readouterr().err


def test_lookups_are_checked_only_every_few_seconds(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("g1,group,Ops\n", encoding="utf-8")
    source = LookupSource([tmp_path], recheck_seconds=3600)
    assert source.current().groups == {"g1": "Ops"}
    path.write_text("g1,group,Changed\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    assert source.current().groups == {"g1": "Ops"}


def test_names_cannot_bring_control_characters_into_messages(tmp_path: Path) -> None:
    path = tmp_path / "vaults.csv"
    path.write_text('aqk6toxie3nopus2rmrgtn4swg,vault,"Ops\nFAKE LINE\u202e"\n', encoding="utf-8")
    raw = (STAGES / "enrich" / "grant_gva.json").read_bytes()
    document = enrich(normalize(raw), load_lookups([path]))
    assert document["onepassword"]["vault"]["name"] == "Ops\\u000aFAKE LINE\\u202e"
    assert "\n" not in document["message"] and "\u202e" not in document["message"]


def test_swapping_names_in_equals_rendering_with_them() -> None:
    """The fast path (uuids in the mapper's message replaced by names) and
    render_message agree on every case and on a sample of the benchmark corpus."""
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from _corpus import Corpus

    corpus = Corpus(7)
    lookups = load_lookups([LOOKUPS])
    for uuid in corpus.vaults:
        lookups.add("vault", uuid, f"Vault {uuid[:4]}")
    for uuid in corpus.items[:2000]:
        lookups.add("item", uuid, f"Item {uuid[:4]}")
    for uuid in corpus.groups:
        lookups.add("group", uuid, f"Group {uuid[:4]}")
    raws = [raw.read_bytes() for raw in sorted((STAGES / "enrich").glob("*[!d].json"))]
    raws += list(corpus.lines(3000))
    swapped = 0
    for raw in raws:
        plain = normalize(raw)
        document = enrich(normalize(raw), lookups)
        assert document["message"] == render_message(document, lookups.name_of), raw[:80]
        swapped += document["message"] != plain["message"]
    assert swapped > 1000


def test_a_title_that_merely_mentions_a_secret_key_is_accepted(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "items.json",
        [{"id": "i1", "title": 'Router "password": on the sticker', "vault": {"id": "v1"}}],
    )
    assert load_lookups([path]).items == {"i1": 'Router "password": on the sticker'}


def test_the_short_paths_give_what_the_full_path_gives() -> None:
    """``enrich`` takes short paths for named item usages and sign-ins; ``_enrich`` is
    the one path for everything. Both must give the same bytes, on the benchmark
    corpus and on the shapes that leave the short path half-way (upper-case uuids, an
    action without a template, a message another stage changed, one uuid unknown, the
    same uuid for vault and item)."""
    import copy
    import sys

    from onepassword_ecs.stages._enrich import _enrich

    sys.path.insert(0, str(REPO / "scripts"))
    from _corpus import Corpus

    corpus = Corpus(5)
    lookups = load_lookups([LOOKUPS])
    for uuid in corpus.vaults[:50]:
        lookups.add("vault", uuid, f"Vault {uuid[:4]}")
    for uuid in corpus.items[:3000]:
        lookups.add("item", uuid, f"Item {uuid[:4]}")
    for person in corpus.users[:200]:
        lookups.add("user", person["uuid"], person["name"])

    def variants(document: dict[str, Any]) -> list[dict[str, Any]]:
        found = [document]
        vendor = document.get("onepassword", {})
        if "vault_uuid" in vendor and "item_uuid" in vendor:
            upper = copy.deepcopy(document)
            for key in ("vault_uuid", "item_uuid"):
                upper["onepassword"][key] = vendor[key].upper()
            upper["message"] = render_message(upper)
            unknown = copy.deepcopy(document)
            unknown["event"]["action"] = "a-new-action"
            unknown["message"] = render_message(unknown)
            changed = copy.deepcopy(document)
            changed["message"] = "[checked] " + document["message"]
            same = copy.deepcopy(document)
            same["onepassword"]["item_uuid"] = vendor["vault_uuid"]
            same["message"] = render_message(same)
            found += [upper, unknown, changed, same]
        return found

    kinds: set[str] = set()
    for raw in corpus.lines(2000):
        for document in variants(normalize(raw)):
            short = enrich(copy.deepcopy(document), lookups)
            full = _enrich(copy.deepcopy(document), lookups)
            assert orjson.dumps(short) == orjson.dumps(full), document.get("message")
            if short != document:
                kinds.add(document["event"]["dataset"])
    assert kinds == {"1password.item_usages", "1password.audit_events"}


def test_a_busy_enricher_sees_a_changed_file_within_a_stride(tmp_path: Path) -> None:
    """The stage reads the clock once every CLOCK_STRIDE records while they come fast,
    so a change is seen at most that many records late (here recheck_seconds=0)."""
    from onepassword_ecs.stages._enrich import CLOCK_STRIDE

    path = tmp_path / "groups.csv"
    path.write_text("k5dmgfs5vskknttlsxaxc7uwlk,group,Admins\n", encoding="utf-8")
    stage = Enricher([tmp_path], recheck_seconds=0)

    def group_name() -> Any:
        return stage(_join_uuid_only())["user"]["target"]["group"].get("name")

    assert group_name() == "Admins"
    path.write_text("k5dmgfs5vskknttlsxaxc7uwlk,group,Administrators\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    names = [group_name() for _ in range(CLOCK_STRIDE + 1)]
    assert names[-1] == "Administrators"
    assert pickle.loads(pickle.dumps(stage))(_join_uuid_only())["user"]["target"]["group"][
        "name"
    ] == ("Administrators")


# --- issue 21, item 22: a big lookup file in bounded memory -------------------------


def _corpus_lookups(pack: bool) -> tuple[Any, Any]:
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from _corpus import Corpus

    corpus = Corpus(5)
    lookups = load_lookups([LOOKUPS])
    for uuid in corpus.vaults[:50]:
        lookups.add("vault", uuid.upper(), f"Vault {uuid[:4]}")
    for uuid in corpus.items[:3000]:
        lookups.add("item", uuid, f"Item {uuid[:4]}")
        lookups.add("item", uuid, f"Item {uuid[:5]} renamed")  # later wins
    for person in corpus.users[:200]:
        lookups.add("user", person["uuid"], person["name"])
        lookups.add("user", person["uuid"], person["email"])
    if pack:
        lookups.pack()
    return corpus, lookups


def test_packed_tables_answer_as_the_dicts_do() -> None:
    _, plain = _corpus_lookups(pack=False)
    _, packed = _corpus_lookups(pack=True)
    assert packed.packed and not plain.packed
    for kind in ("users", "groups", "vaults", "items"):
        table, compact = getattr(plain, kind), getattr(packed, kind)
        assert len(compact) == len(table)
        assert dict(compact.items()) == dict(table)  # iteration, values, later wins
        for key in list(table)[:500]:
            assert compact.get(key) == table[key] and key in compact
        assert compact.get("nosuchuuid0000000000000000") is None
        assert "nosuchuuid0000000000000000" not in compact
        with pytest.raises(KeyError):
            compact["nosuchuuid0000000000000000"]
    assert packed.name_of("K5DMGFS5VSKKNTTLSXAXC7UWLK") == "Administrators"


def test_enrichment_is_the_same_with_packed_tables() -> None:
    corpus, plain = _corpus_lookups(pack=False)
    _, packed = _corpus_lookups(pack=True)
    for raw in corpus.lines(1500):
        document = normalize(raw)
        one = enrich(orjson.loads(orjson.dumps(document)), plain)
        other = enrich(orjson.loads(orjson.dumps(document)), packed)
        assert orjson.dumps(one) == orjson.dumps(other)


def test_tables_are_packed_past_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onepassword_ecs.stages import _lookups

    monkeypatch.setattr(_lookups, "PACK_ABOVE", 10)
    rows = [f"U{n:025d},user,Person {n}\nU{n:025d},user,p{n}@x.example\n" for n in range(8)]
    rows += [f"V{n:025d},vault,Vault {n}\n" for n in range(8)]
    path = tmp_path / "big.csv"
    path.write_text("uuid,kind,name\n" + "".join(rows), encoding="utf-8")
    lookups = load_lookups([path])
    assert lookups.packed
    assert lookups.users["u0000000000000000000000007"] == ("Person 7", "p7@x.example")
    assert lookups.vaults.get("v0000000000000000000000003") == "Vault 3"
    assert len(lookups) == 16


def _memory(rows: int) -> dict[str, float]:
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    import tempfile

    import bench_lookup_memory

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lookups.csv"
        bench_lookup_memory.write_csv(path, rows)
        return bench_lookup_memory.measure(path)


def test_a_big_lookup_file_costs_at_most_twice_its_size() -> None:
    """100,000 CSV rows (7.5 MB, packed from the first row): what a process holds after
    loading them, and its peak while loading, stay under twice the file's size (the
    dicts used before cost 3.3 times it)."""
    figures = _memory(100_000)
    assert figures["rows"] >= 99_000
    assert figures["held_mb"] <= 2 * figures["file_mb"], figures
    assert figures["peak_mb"] <= 2 * figures["file_mb"], figures


@pytest.mark.slow
def test_the_issue_s_million_row_file_costs_at_most_twice_its_size() -> None:
    figures = _memory(1_000_000)
    assert figures["file_mb"] > 70
    assert figures["held_mb"] <= 2 * figures["file_mb"], figures
    assert figures["peak_mb"] <= 2 * figures["file_mb"], figures
