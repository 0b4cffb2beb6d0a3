"""The mapping rules of the core issue, one behaviour per test.

Each test builds a small raw record (tests/records.py), normalizes it and asserts the
ECS fields the rule is about. The golden fixtures cover whole documents; these tests say
*which* rule a regression broke.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from onepassword_ecs import Dataset, NormalizationError, detect_dataset, normalize
from onepassword_ecs.mapping._tables import CATEGORY_TYPES, tables
from records import ALICE, BOB, CLIENT, audit, item_usage, signin


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out.extend(_walk(item, f"{path}.{key}" if path else key))
        return out or [(path, value)]
    return [(path, value)]


# --- @timestamp -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-03-10T15:03:27Z", "2025-03-10T15:03:27.000000000Z"),
        ("2025-03-10T15:03:27.19Z", "2025-03-10T15:03:27.190000000Z"),
        ("2022-10-24T21:16:52.827288935Z", "2022-10-24T21:16:52.827288935Z"),
        ("2020-06-11T16:32:50-03:00", "2020-06-11T19:32:50.000000000Z"),
        ("2025-01-01T02:10:00.123456789+05:30", "2024-12-31T20:40:00.123456789Z"),
        ("2024-02-29T23:30:00.5-01:00", "2024-03-01T00:30:00.500000000Z"),
        ("2025-03-10t15:03:27+00:00", "2025-03-10T15:03:27.000000000Z"),
    ],
)
def test_timestamp_is_utc_with_every_fractional_digit(raw: str, expected: str) -> None:
    """Offsets are converted and no fractional digit is rounded away (nine kept)."""
    assert normalize(signin(timestamp=raw))["@timestamp"] == expected


def test_timestamp_missing_is_an_error_not_now() -> None:
    """A record without a timestamp is reported, never stamped with the current time."""
    for record in (signin(timestamp=None), {**signin(), "timestamp": None}):
        with pytest.raises(NormalizationError) as caught:
            normalize(record)
        assert caught.value.reason == "missing_timestamp"
        assert caught.value.path == "$.timestamp"


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "2025-03-10T15:03:27",
        "2025-13-10T15:03:27Z",
        "2025-02-30T00:00:00Z",
        "2025-03-10T25:00:00Z",
        1700000000,
        "",
        ["2025"],
    ],
)
def test_timestamp_unparseable_is_bad_timestamp(raw: object) -> None:
    """Unparseable, zoneless or impossible timestamps fail with the path and the value."""
    with pytest.raises(NormalizationError) as caught:
        normalize(item_usage(timestamp=raw))
    assert caught.value.reason == "bad_timestamp"
    assert caught.value.path == "$.timestamp"
    assert "RFC 3339" in str(caught.value)
    assert repr(raw)[:20] in str(caught.value)


# --- constant fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "dataset"),
    [
        (audit(), "1password.audit_events"),
        (item_usage(), "1password.item_usages"),
        (signin(), "1password.signin_attempts"),
    ],
)
def test_base_fields(record: dict[str, Any], dataset: str) -> None:
    """ecs.version, event.kind/module/dataset (Elastic's names) and event.id = uuid."""
    doc = normalize(record)
    assert doc["ecs"] == {"version": "9.4.0"}
    assert doc["event"]["kind"] == "event"
    assert doc["event"]["module"] == "1password"
    assert doc["event"]["dataset"] == dataset
    assert doc["event"]["id"] == record["uuid"]


# --- categorization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "object_type", "category", "types"),
    [
        ("join", "gm", "iam", ["group", "change"]),
        ("leave", "gm", "iam", ["group", "change"]),
        ("role", "gm", "iam", ["group", "change"]),
        ("create", "invite", "iam", ["user", "creation"]),
        ("provsn", "user", "iam", ["user", "creation"]),
        ("provsn", None, "iam", ["user", "creation"]),
        ("suspend", "user", "iam", ["user", "change"]),
        ("reactive", "user", "iam", ["user", "change"]),
        ("beginr", "user", "iam", ["user", "change"]),
        ("completr", "user", "iam", ["user", "change"]),
        ("delete", "user", "iam", ["user", "deletion"]),
        ("grant", "uva", "iam", ["user", "change"]),
        ("revoke", "uva", "iam", ["user", "change"]),
        ("update", "uva", "iam", ["user", "change"]),
        ("grant", "gva", "iam", ["group", "change"]),
        ("revoke", "gva", "iam", ["group", "change"]),
        ("update", "gva", "iam", ["group", "change"]),
        ("updatfw", "account", "configuration", ["change"]),
        ("enblsso", "sso", "configuration", ["change"]),
        ("chngpsso", "sso", "configuration", ["change"]),
        ("enblduo", "account", "configuration", ["change"]),
        ("disblduo", None, "configuration", ["change"]),
        ("disblmfa", "account", "configuration", ["change"]),
        ("enblmfa", "user", "iam", ["user", "change"]),
        ("create", "vault", "configuration", ["creation"]),
        ("delete", "vault", "configuration", ["deletion"]),
        ("purge", "vault", "configuration", ["deletion"]),
        ("create", "group", "iam", ["group", "creation"]),
        ("delete", "group", "iam", ["group", "deletion"]),
        ("create", "item", "file", ["creation"]),
        ("purge", "items", "file", ["deletion"]),
        ("export", "vault", "configuration", ["access"]),
    ],
)
def test_audit_categorization_by_action_and_object_type(
    action: str, object_type: str | None, category: str, types: list[str]
) -> None:
    """The (action, object type) pair decides event.category and event.type."""
    event = normalize(audit(action=action, object_type=object_type))["event"]
    assert event["category"] == [category]
    assert event["type"] == types
    assert event["action"] == action
    assert event["outcome"] == "success"


def test_every_table_pair_is_an_allowed_ecs_pairing() -> None:
    """Every action on every object type (and on unknown ones) gives an allowed pairing."""
    table = tables()
    object_types = [*table.object_types, "hologram", None]
    for action in [*table.actions, "frobnicate"]:
        for object_type in object_types:
            event = normalize(audit(action=action, object_type=object_type))["event"]
            (category,) = event["category"]
            assert set(event["type"]) <= CATEGORY_TYPES[category], (action, object_type)


@pytest.mark.parametrize(
    ("action", "object_type", "category", "types"),
    [
        ("frobnicate", "vault", "configuration", ["info"]),
        ("frobnicate", "user", "iam", ["user", "info"]),
        ("create", "hologram", "configuration", ["creation"]),
        ("frobnicate", "hologram", "configuration", ["info"]),
    ],
)
def test_unknown_action_or_object_type_still_categorized(
    action: str, object_type: str, category: str, types: list[str]
) -> None:
    """What the tables do not know is categorized from what is known, info at worst."""
    event = normalize(audit(action=action, object_type=object_type))["event"]
    assert (event["category"], event["type"]) == ([category], types)


@pytest.mark.parametrize(
    ("action", "types"),
    [
        ("fill", ["access"]),
        ("reveal", ["access"]),
        ("secure-copy", ["access"]),
        ("export", ["access"]),
        ("server-create", ["creation"]),
        ("server-update", ["change"]),
        ("teleport", ["access"]),
    ],
)
def test_item_usage_categorization(action: str, types: list[str]) -> None:
    """Item usages are file events; the raw action is event.action; always a success."""
    event = normalize(item_usage(action=action))["event"]
    assert event["category"] == ["file"]
    assert event["type"] == types
    assert event["action"] == action
    assert event["outcome"] == "success"


@pytest.mark.parametrize(
    ("category", "outcome"),
    [
        ("success", "success"),
        ("firewall_reported_success", "success"),
        ("credentials_failed", "failure"),
        ("mfa_failed", "failure"),
        ("sso_failed", "failure"),
        ("modern_version_failed", "failure"),
        ("firewall_failed", "failure"),
        ("some_future_failure", "unknown"),
        ("SUCCESS", "unknown"),
    ],
)
def test_signin_outcome_follows_category(category: str, outcome: str) -> None:
    """Sign-ins are authentication/start; the raw category is the action and the outcome."""
    event = normalize(signin(category=category))["event"]
    assert event["category"] == ["authentication"]
    assert event["type"] == ["start"]
    assert event["action"] == category
    assert event["outcome"] == outcome


def test_signin_without_category_has_unknown_outcome() -> None:
    """No category: the result is unknown, and no event.action is invented."""
    event = normalize(signin(category=None))["event"]
    assert event["outcome"] == "unknown"
    assert "action" not in event


@pytest.mark.parametrize(
    ("sign_in_type", "value", "reason"),
    [
        ("continent_blocked", "Asia", "blocked by the firewall (continent Asia)"),
        ("country_blocked", "Russia", "blocked by the firewall (country Russia)"),
        ("ip_blocked", "203.0.113.7", "blocked by the firewall (IP address 203.0.113.7)"),
        ("password_secret_bad", None, "wrong account password or Secret Key"),
        ("u2f_timout", None, "security key timed out"),
        ("brand_new_type", "x", "brand new type (x)"),
    ],
)
def test_signin_reason_is_readable(sign_in_type: str, value: str | None, reason: str) -> None:
    """event.reason is built from type and details.value."""
    details = {"value": value} if value else None
    doc = normalize(signin(type=sign_in_type, details=details))
    assert doc["event"]["reason"] == reason
    assert doc["onepassword"]["type"] == sign_in_type


def test_signin_null_details() -> None:
    """details: null is allowed (1Password's collectors type it as nullable)."""
    record = signin(type="credentials_ok", category="success")
    record["details"] = None
    doc = normalize(record)
    assert doc["event"]["reason"] == "password and Secret Key accepted"
    assert "details" not in doc["onepassword"]


# --- people -----------------------------------------------------------------------------


def test_audit_actor_and_group_membership_target() -> None:
    """Actor → user.*; the member added → user.target.*; the group → user.target.group.id."""
    doc = normalize(audit())
    assert doc["user"]["id"] == ALICE["uuid"]
    assert doc["user"]["name"] == doc["user"]["full_name"] == ALICE["name"]
    assert doc["user"]["email"] == ALICE["email"]
    target = doc["user"]["target"]
    assert target["id"] == BOB["uuid"]
    assert target["email"] == BOB["email"]
    assert target["group"] == {"id": "mwv2mk3n3pfpeqrxgux5xu2xc5"}
    assert "group" not in doc


def test_audit_user_object_target_from_object_details() -> None:
    """When the object is a user, object_details is the affected person."""
    record = audit(
        action="suspend",
        object_type="user",
        object_uuid=BOB["uuid"],
        object_details=BOB,
        aux_details=None,
        aux_uuid=None,
        aux_info=None,
    )
    target = normalize(record)["user"]["target"]
    assert target == {
        "id": BOB["uuid"],
        "name": BOB["name"],
        "full_name": BOB["name"],
        "email": BOB["email"],
    }


def test_audit_user_object_without_details_still_has_target_id() -> None:
    """object_type user without object_details: user.target.id = object_uuid."""
    record = audit(
        action="delete",
        object_type="user",
        object_uuid="GQ6FFAFQGP5EZ7LRAJZMRMI4ST",
        aux_details=None,
        aux_uuid=None,
        aux_info=None,
    )
    doc = normalize(record)
    assert doc["user"]["target"] == {"id": "GQ6FFAFQGP5EZ7LRAJZMRMI4ST"}
    assert "GQ6FFAFQGP5EZ7LRAJZMRMI4ST" in doc["related"]["user"]


def test_audit_group_vault_access_sets_group_id() -> None:
    """gva: aux_uuid is the group (no person involved) → group.id."""
    record = audit(action="grant", object_type="gva", aux_details=None, aux_info=None)
    doc = normalize(record)
    assert doc["group"] == {"id": BOB["uuid"]}
    assert "target" not in doc["user"]


def test_audit_group_object_sets_group_id() -> None:
    """create on group: the group is group.id when no user is involved."""
    record = audit(action="create", object_type="group", aux_details=None, aux_uuid=None)
    assert normalize(record)["group"] == {"id": "mwv2mk3n3pfpeqrxgux5xu2xc5"}


def test_audit_invite_target_from_aux_info() -> None:
    """create on invite: aux_info names the invited person when no aux_details is sent."""
    record = audit(
        action="create",
        object_type="invite",
        aux_details=None,
        aux_uuid=None,
        aux_info="eunji.park@acme.example",
    )
    doc = normalize(record)
    assert doc["user"]["target"] == {"email": "eunji.park@acme.example"}
    assert doc["onepassword"]["aux_info"] == "eunji.park@acme.example"


def test_item_usage_and_signin_people() -> None:
    """Item usage: user → user.*. Sign-in: target_user, who signs in, → user.*."""
    assert normalize(item_usage())["user"]["id"] == ALICE["uuid"]
    doc = normalize(signin())
    assert doc["user"]["id"] == BOB["uuid"]
    assert "target" not in doc["user"]


def test_related_user_first_seen_order_deduplicated() -> None:
    """related.user: actor then target identifiers, each once."""
    doc = normalize(audit())
    assert doc["related"]["user"] == [
        ALICE["uuid"],
        ALICE["name"],
        ALICE["email"],
        BOB["uuid"],
        BOB["name"],
        BOB["email"],
    ]


# --- network and geo ----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["198.51.100.23", "2001:db8:85a3::8a2e:370:7334"])
def test_valid_ip_reaches_client_source_and_related(address: str) -> None:
    """A valid IP → client.ip, source.ip and related.ip; the raw text → client.address."""
    client = {**CLIENT, "ip_address": address}
    doc = normalize(signin(client=client))
    assert doc["client"]["address"] == doc["client"]["ip"] == address
    assert doc["source"]["ip"] == address
    assert doc["related"]["ip"] == [address]


@pytest.mark.parametrize(
    "address", ["unknown", "10.0.0.999", "1.2.3.4%eth0", "fe80::1%", " 1.2.3.4"]
)
def test_invalid_ip_only_in_client_address(address: str) -> None:
    """An invalid IP never reaches an ip-typed field (it would reject the document)."""
    session = {**audit()["session"], "ip": address}
    doc = normalize(audit(session=session))
    assert doc["client"]["address"] == address
    assert "ip" not in doc["client"]
    assert "ip" not in doc.get("source", {})
    assert "ip" not in doc.get("related", {})


@pytest.mark.parametrize(
    ("address", "ip"),
    [("fe80::1%eth0", "fe80::1"), ("fe80::abcd:1%25", "fe80::abcd:1"), ("ff02::1%en0", "ff02::1")],
)
def test_ipv6_zone_id_is_stripped_for_ip_fields(address: str, ip: str) -> None:
    """A link-local IPv6 with a zone id: the address without the zone in client.ip,
    source.ip and related.ip (Elasticsearch refuses the zone), the raw text in
    client.address and source.address."""
    for doc in (
        normalize(audit(session={**audit()["session"], "ip": address})),
        normalize(signin(client={**CLIENT, "ip_address": address})),
    ):
        assert doc["client"]["address"] == doc["source"]["address"] == address
        assert doc["client"]["ip"] == doc["source"]["ip"] == ip
        assert doc["related"]["ip"] == [ip]


def test_client_ip_key_is_accepted() -> None:
    """Some published samples send client.ip instead of client.ip_address."""
    client = {k: v for k, v in CLIENT.items() if k != "ip_address"} | {"ip": "192.0.2.7"}
    doc = normalize(item_usage(client=client))
    assert doc["client"]["ip"] == "192.0.2.7"
    assert "client" not in doc["onepassword"] or "ip" not in doc["onepassword"]["client"]


@pytest.mark.parametrize(
    ("country", "region", "name", "code", "region_code"),
    [
        ("Canada", "Ontario", "Canada", "CA", "CA-ON"),
        ("CA", "Québec", "Canada", "CA", "CA-QC"),
        ("Canada", "Quebec", "Canada", "CA", "CA-QC"),
        ("South Korea", "Seoul", "South Korea", "KR", "KR-11"),
        ("KR", None, "South Korea", "KR", None),
        ("Russia", "Moscow", "Russia", "RU", "RU-MOW"),
        ("Côte d'Ivoire", None, "Côte d'Ivoire", "CI", None),
        ("Cote d'Ivoire", None, "Cote d'Ivoire", "CI", None),
        ("Atlantis", "Deep", "Atlantis", None, None),
    ],
)
def test_geo_iso_codes(
    country: str, region: str | None, name: str, code: str | None, region_code: str | None
) -> None:
    """Vendor geolocation → client.geo and source.geo, with ISO 3166 codes when resolvable."""
    location = {"country": country, "city": "Somewhere", "latitude": 10.5, "longitude": -20.25}
    if region:
        location["region"] = region
    doc = normalize(signin(location=location))
    geo = doc["client"]["geo"]
    assert geo == doc["source"]["geo"]
    assert geo["country_name"] == name
    assert geo.get("country_iso_code") == code
    assert geo.get("region_iso_code") == region_code
    assert geo["location"] == {"lat": 10.5, "lon": -20.25}


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(123.4, 10.0), (10.0, 181.0), ("north", 1.0), (True, 1.0)]
)
def test_invalid_coordinates_are_not_a_geo_point(latitude: Any, longitude: Any) -> None:
    """Out-of-range or non-numeric coordinates stay under onepassword.*, not in geo.location."""
    location = {"country": "Canada", "latitude": latitude, "longitude": longitude}
    doc = normalize(item_usage(location=location))
    assert "location" not in doc["client"]["geo"]
    vendor = doc["onepassword"]
    kept_as_number = vendor.get("location", {}).get("latitude") == latitude
    kept_as_text = (
        vendor.get("malformed", {}).get("location.latitude") == orjson.dumps(latitude).decode()
    )
    assert kept_as_number or kept_as_text
    assert not (kept_as_number and isinstance(latitude, bool))


def test_signin_country_is_kept() -> None:
    """The sign-in's top-level country is kept under onepassword.country."""
    assert normalize(signin(country="France"))["onepassword"]["country"] == "France"


def test_client_software_and_device() -> None:
    """OS → host.os.*; app/platform → onepassword.client.*; audit device → host.id."""
    doc = normalize(item_usage())
    assert doc["host"]["os"] == {"name": "MacOSX", "version": "14.5"}
    assert doc["onepassword"]["client"] == {
        "app_name": CLIENT["app_name"],
        "app_version": CLIENT["app_version"],
        "platform_name": CLIENT["platform_name"],
        "platform_version": CLIENT["platform_version"],
    }
    assert normalize(audit())["host"] == {"id": "zq7holxnu6qn7cdj5lnfyz7u3r"}


def test_missing_session_location_client() -> None:
    """Absent optional objects simply leave their ECS fields out."""
    doc = normalize(audit(session=None, location=None))
    assert "client" not in doc and "source" not in doc and "host" not in doc
    doc = normalize(signin(client=None, location=None, country=None))
    assert "client" not in doc and "host" not in doc


# --- messages ---------------------------------------------------------------------------


def test_messages_name_who_did_what() -> None:
    """One readable sentence per event, from the templates in mappings/."""
    assert normalize(audit())["message"] == (
        "Alice Kowalski added Bob Tanaka to group mwv2mk3n3pfpeqrxgux5xu2xc5 as a manager"
    )
    patch = audit(action="patch", object_type="vault", aux_info="1,0,2,0,0", aux_details=None)
    assert normalize(patch)["message"].endswith("(items: 1 created, 0 edited, 2 deleted)")
    assert normalize(signin())["message"] == (
        "Bob Tanaka failed to sign in: blocked by the firewall (continent Asia)"
    )
    assert normalize(item_usage())["message"] == (
        "Alice Kowalski filled item yen3nucy3rongmvqan5k7oliwc from vault "
        "aqk6toxie3nopus2rmrgtn4swg"
    )


# --- nothing lost -----------------------------------------------------------------------


def test_v2_fields_and_unknown_fields_flow_through() -> None:
    """v2 MSP fields and fields the API adds later reach onepassword.* untouched."""
    actor = {**ALICE, "user_type": "external_user", "user_account_uuid": "RGRV52K75IW2F"}
    record = audit(
        actor_details=actor,
        actor_type="external_user",
        actor_account_uuid="RGRV52K75IW2F",
        account_uuid="OXGL7EJKRRFRJ",
        risk={"score": 42, "labels": ["new-device"]},
    )
    vendor = normalize(record)["onepassword"]
    assert vendor["actor_type"] == "external_user"
    assert vendor["actor_account_uuid"] == "RGRV52K75IW2F"
    assert vendor["account_uuid"] == "OXGL7EJKRRFRJ"
    assert vendor["actor_details"] == {
        "user_type": "external_user",
        "user_account_uuid": "RGRV52K75IW2F",
    }
    assert vendor["risk"] == {"score": 42, "labels": ["new-device"]}


def test_mistyped_known_field_is_kept_as_malformed() -> None:
    """A value of the wrong type is not dropped: it is kept as JSON text, by raw path."""
    doc = normalize(audit(aux_id="not-a-number", actor_details="Alice"))
    assert doc["onepassword"]["malformed"] == {
        "aux_id": '"not-a-number"',
        "actor_details": '"Alice"',
    }


def test_unindexable_unknown_values_are_kept_as_text() -> None:
    """Values Elasticsearch would refuse (mixed arrays, > 64-bit ints) become text."""
    doc = normalize(signin(mixed=[1, "a"], huge=2**70, fine=[1, 2]))
    assert doc["onepassword"]["malformed"] == {"mixed": '[1,"a"]', "huge": str(2**70)}
    assert doc["onepassword"]["fine"] == [1, 2]


def test_no_null_or_empty_values_are_emitted() -> None:
    """No key is ever emitted with a null value, an empty array or an empty object."""
    record = signin(details=None, extra_null=None, extra_list=[], extra_obj={"a": None})
    record["country"] = None
    for path, value in _walk(normalize(record)):
        assert value not in (None, [], {}), path


def test_keep_original() -> None:
    """keep_original adds event.original with the raw JSON text."""
    text = orjson.dumps(item_usage()).decode()
    assert normalize(text, keep_original=True)["event"]["original"] == text
    assert "original" not in normalize(text)["event"]
    from_dict = normalize(item_usage(), keep_original=True)["event"]["original"]
    assert orjson.loads(from_dict) == item_usage()


def test_normalize_does_not_mutate_and_is_deterministic() -> None:
    """The input dict is left as it was; the same record gives the same document."""
    record = audit()
    before = copy.deepcopy(record)
    first = normalize(record)
    assert record == before
    assert normalize(record) == first
    assert normalize(orjson.dumps(record)) == first


# --- input and dataset detection --------------------------------------------------------


def test_dataset_detection() -> None:
    """Explicit argument, then the collector hint, then the record's shape."""
    assert detect_dataset(signin()) is Dataset.signin_attempts
    assert detect_dataset(item_usage()) is Dataset.item_usages
    assert detect_dataset(audit()) is Dataset.audit_events
    assert detect_dataset({"sekoia_event_type": "itemusages"}) is Dataset.item_usages
    assert detect_dataset(signin(), "1password.audit_events") is Dataset.audit_events
    assert detect_dataset(audit(), Dataset.audit_events) is Dataset.audit_events


def test_audit_event_with_aux_id_is_still_an_audit_event() -> None:
    """A peer routes records with aux_id to item usages and loses them; we do not."""
    record = audit(action="create", object_type="item")
    assert "aux_id" in record
    assert normalize(record)["event"]["dataset"] == "1password.audit_events"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b"{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ("null", "not_an_object"),
        ('"text"', "not_an_object"),
        ({"timestamp": "2025-01-01T00:00:00Z", "foo": 1}, "unknown_dataset"),
    ],
)
def test_bad_input_reasons(record: Any, reason: str) -> None:
    """Bad input raises NormalizationError with a stable reason code."""
    with pytest.raises(NormalizationError) as caught:
        normalize(record)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_unknown_dataset_argument() -> None:
    """An explicit dataset name that does not exist is an error, not a guess."""
    with pytest.raises(NormalizationError) as caught:
        normalize(signin(), dataset="netflow")
    assert caught.value.reason == "unknown_dataset"


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("2025-03-10T15:03:27", "without a UTC offset"),
        ("20250310T150327Z", "not the RFC 3339 form"),
        ("2025-13-01T00:00:00Z", "month 13 does not exist"),
    ],
)
def test_bad_timestamp_message_says_what_is_wrong(raw: str, hint: str) -> None:
    """The message names the path, what was expected, the value, and the likely cause."""
    with pytest.raises(NormalizationError) as caught:
        normalize(signin(timestamp=raw))
    message = str(caught.value)
    assert message.startswith("$.timestamp: expected an RFC 3339 date-time")
    assert repr(raw) in message
    assert hint in message
