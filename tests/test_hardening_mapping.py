"""Issue 9, mapping corrections found on real data: one behaviour per test.

Message text that a display name cannot forge, message grammar, the one person that
``user.target.*`` describes, a sign-in's lone ``country``, IPv6 zone ids (in
test_mapping_rules.py) and region codes (test_regions.py).
"""

from __future__ import annotations

import pytest

from onepassword_ecs import normalize, validate
from records import ALICE, BOB, CLIENT, audit, signin

# --- message: no forged or reordered log text (item 12) ---------------------------------

_FORGERS = [
    "Mallory\nAlice Kowalski signed in",
    "Mallory\r\nfake",
    "Mallory\u2028fake",
    "Mallory\u2029fake",
    "Mallory\u0085fake",
    "Mallory\x1b[31mred",
    "Mallory\tx",
    "Mallory\x00",
    "Mallory\x7f",
    "evil\u202egnp.exe",
    "a\u202ab\u202bc\u202cd\u202de",
    "a\u2066b\u2067c\u2068d\u2069",
    "a\u200eb\u200fc\u061c",
]


@pytest.mark.parametrize("name", _FORGERS)
def test_message_escapes_control_and_bidi_characters(name: str) -> None:
    """A display name cannot add a line, an escape sequence or reorder text in message;
    the user fields keep the exact raw value."""
    person = {**BOB, "name": name}
    for doc in (
        normalize(signin(target_user=person)),
        normalize(audit(actor_details={**ALICE, "name": name})),
    ):
        message = doc["message"]
        assert message.isprintable(), repr(message)
        for character in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
            assert character not in message
        assert "\\u" in message  # escaped, not silently dropped
        assert name in (doc["user"]["name"], doc["user"].get("target", {}).get("name"))
        assert validate(doc) == []


def test_message_escape_is_readable() -> None:
    """The escape names the code point, so an analyst sees what was there."""
    doc = normalize(signin(target_user={**BOB, "name": "Bob\nroot signed in"}))
    assert doc["message"].startswith("Bob\\u000aroot signed in failed to sign in")
    assert doc["user"]["name"] == "Bob\nroot signed in"


def test_message_of_plain_names_is_unchanged() -> None:
    """Accents, CJK and emoji are text, not control characters: kept as they are."""
    name = "Zoë 山田 🚀"
    assert normalize(signin(target_user={**BOB, "name": name}))["message"].startswith(name)


# --- message grammar and unknown sign-in categories (item 13) ----------------------------


def test_deleted_user_without_details_reads_as_a_sentence() -> None:
    """No "deleted the user a user": an unnamed deleted user is "a user"."""
    record = audit(
        action="delete",
        object_type="user",
        object_uuid=None,
        object_details=None,
        aux_uuid=None,
        aux_details=None,
        aux_info=None,
        actor_details=None,
        actor_uuid=None,
    )
    assert normalize(record)["message"] == "An unknown user deleted a user"
    named = audit(action="delete", object_type="user", object_details=BOB, object_uuid=BOB["uuid"])
    assert normalize(named)["message"] == "Alice Kowalski deleted the user Bob Tanaka"


def test_object_without_uuid_gets_an_article() -> None:
    """ "created a vault", "created an invitation", never a bare noun mid-sentence."""
    for object_type, phrase in (
        ("vault", "a vault"),
        ("item", "an item"),
        ("sa", "a service account"),
    ):
        record = audit(
            action="create",
            object_type=object_type,
            object_uuid=None,
            aux_details=None,
            aux_uuid=None,
            aux_info=None,
        )
        assert normalize(record)["message"] == f"Alice Kowalski created {phrase}"


def test_role_change_names_the_new_role_not_the_actor() -> None:
    """ "changed the role of M in group VIC to manager", not "... as a manager"."""
    doc = normalize(audit(action="role", object_type="gm", object_uuid="VIC", aux_info="A"))
    assert doc["message"] == "Alice Kowalski changed the role of Bob Tanaka in group VIC to manager"
    member = normalize(audit(action="role", object_type="gm", object_uuid="VIC", aux_info="R"))
    assert member["message"].endswith("in group VIC to member")


@pytest.mark.parametrize("category", ["SUCCESS", "Success", "success ", "totally_new", "failed"])
def test_unknown_signin_category_is_unknown_not_failure(category: str) -> None:
    """A category the table does not list, in any spelling, gets outcome unknown, and the
    message does not claim a failure."""
    doc = normalize(signin(category=category, type="credentials_ok", details=None))
    assert doc["event"]["outcome"] == "unknown"
    assert doc["event"]["action"] == category
    assert "failed" not in doc["message"].replace(category, "")
    assert category in doc["message"]
    assert doc["message"].startswith("Bob Tanaka attempted to sign in")


# --- user.target is one person (item 14) -------------------------------------------------


def test_target_id_is_the_person_the_details_describe() -> None:
    """object_details.uuid differs from object_uuid: the target's id is the details' uuid
    (the person the name and email belong to); object_uuid stays under onepassword.*."""
    record = audit(
        action="suspend",
        object_type="user",
        object_uuid="OBJECTUUIDOBJECTUUIDOBJECTU",
        object_details=BOB,
        aux_details=None,
        aux_uuid=None,
        aux_info=None,
    )
    doc = normalize(record)
    assert doc["user"]["target"] == {
        "id": BOB["uuid"],
        "name": BOB["name"],
        "full_name": BOB["name"],
        "email": BOB["email"],
    }
    assert doc["onepassword"]["object_uuid"] == "OBJECTUUIDOBJECTUUIDOBJECTU"
    assert "object_details" not in doc["onepassword"]
    assert BOB["uuid"] in doc["related"]["user"]
    assert validate(doc) == []


def test_target_id_is_object_uuid_when_the_details_agree_or_have_none() -> None:
    """Same uuid, or details without one: object_uuid is the target's id, as before."""
    for details in (BOB, {"name": BOB["name"], "email": BOB["email"]}):
        record = audit(
            action="suspend",
            object_type="user",
            object_uuid=BOB["uuid"],
            object_details=details,
            aux_details=None,
            aux_uuid=None,
            aux_info=None,
        )
        assert normalize(record)["user"]["target"]["id"] == BOB["uuid"]


# --- a sign-in's lone country (item 15) ---------------------------------------------------


@pytest.mark.parametrize(
    ("country", "code", "name"),
    [("AR", "AR", "Argentina"), ("fr", "FR", "France"), ("France", "FR", "France")],
)
def test_signin_country_fills_geo_when_location_is_absent(
    country: str, code: str, name: str
) -> None:
    """No location: the top-level country (an ISO code, sometimes a name) fills
    client.geo and source.geo; the raw value stays in onepassword.country."""
    doc = normalize(signin(location=None, country=country))
    expected = {"country_iso_code": code, "country_name": name}
    assert doc["client"]["geo"] == expected
    assert doc["source"]["geo"] == expected
    assert doc["onepassword"]["country"] == country
    assert validate(doc) == []


def test_signin_country_does_not_override_location() -> None:
    """With a location, the geolocation comes from it alone."""
    doc = normalize(signin(country="AR"))
    assert doc["client"]["geo"]["country_iso_code"] == "CA"


def test_signin_unresolvable_country_is_not_invented_into_geo() -> None:
    """A country that names no ISO country stays under onepassword.* only."""
    doc = normalize(signin(location=None, country="Atlantis", client={**CLIENT}))
    assert "geo" not in doc["client"]
    assert "geo" not in doc["source"]
    assert doc["onepassword"]["country"] == "Atlantis"


def test_every_escaped_character_is_unprintable() -> None:
    """The message fast path returns printable text as it is: that is only safe while
    every character the escape covers is unprintable to Python."""
    from onepassword_ecs.mapping._common import _UNSAFE_IN_MESSAGE

    unsafe = [chr(code) for code in range(0x3000) if _UNSAFE_IN_MESSAGE.fullmatch(chr(code))]
    assert len(unsafe) == 32 + 33 + 1 + 2 + 2 + 5 + 4
    assert not any(char.isprintable() for char in unsafe)
