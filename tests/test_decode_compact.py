"""The compact-text shortcut of ``decode_record``: it may skip the walk only when the
text is exactly orjson's encoding of the decoded value, and must refuse what the walk
refused (repeated keys, integers past 64 bits) whatever the text's shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onepassword_ecs._errors import NormalizationError
from onepassword_ecs.mapping._decode import decode_record
from strategies import records


@given(records())
def test_compact_records_decode_to_themselves(record: dict[str, Any]) -> None:
    text = orjson.dumps(record)
    assert decode_record(text) == orjson.loads(text)


@given(records(), st.sampled_from(["uuid", "timestamp", "zz"]))
def test_a_repeated_key_in_compact_text_is_still_refused(record: dict[str, Any], key: str) -> None:
    text = orjson.dumps(record)
    forged = b'{"' + key.encode() + b'":"forged",' + text[1:]
    if key not in record:
        forged = forged[:-1] + b',"' + key.encode() + b'":"second"}'
    with pytest.raises(NormalizationError) as caught:
        decode_record(forged)
    assert caught.value.reason == "duplicate_key"


@pytest.mark.parametrize("digits", ["18446744073709551616", "99999999999999999999999"])
def test_a_big_integer_in_compact_text_keeps_its_digits(digits: str) -> None:
    value = decode_record(b'{"count":' + digits.encode() + b"}")
    assert value == {"count": int(digits)}


def test_a_record_nested_deeper_than_orjson_encodes_still_decodes() -> None:
    # orjson reads 1,024 levels but writes only 255: the shortcut must step aside.
    deep = b'{"uuid":"x","extra":' + b"[" * 300 + b"]" * 300 + b"}"
    value = decode_record(deep)
    assert value["uuid"] == "x"
    forged = b'{"uuid":"x","uuid":"y","extra":' + b"[" * 300 + b"]" * 300 + b"}"
    with pytest.raises(NormalizationError) as caught:
        decode_record(forged)
    assert caught.value.reason == "duplicate_key"
