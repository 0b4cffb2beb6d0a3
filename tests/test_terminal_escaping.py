"""``investigate`` never prints a stored string raw (issue 21, item 5).

User names, client app and OS names come from whoever attempts a sign-in; stored as
sent, they once reached the terminal with their escape sequences (clear the screen,
retitle the window), newlines that fake a table row and U+202E that reverses a line.
A store is made here by ``convert --store`` from records carrying such strings, and
every question is asked of it, as plain text (piped) and as a styled terminal page:
the only control characters allowed out are the newlines that end lines and, on a
terminal, the style sequences rich itself writes.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest

from onepassword_ecs.cli import main
from onepassword_ecs.investigate import terminal_text

STAGES = Path(__file__).resolve().parents[1] / "fixtures" / "stages" / "redact-hash"
ADDRESS = "198.51.100.143"
HOSTILE = {
    "name": "Eve\x1b]0;pwned\x07\x1b[2J\x1b[31mRoot",
    "email": "eve\u202egro.elpmaxe@acme.example",
    "app_name": "1Password\n2026-10-30 09:00:00  sign-in  success  Admin",
    "os_name": "\u202eSWODNIW\u200f\u2028Linux\tx\u0085y\x9b31m",
}
# Rich's own SGR style sequences (terminal pages only): ESC [ params m.
_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def _records() -> bytes:
    signin = json.loads((STAGES / "signin_ip_blocked.json").read_text())
    usage = json.loads((STAGES / "item_usage_ipv6.json").read_text())
    lines = []
    for number in range(6):
        record = copy.deepcopy(signin)
        record["uuid"] = f"SIGNIN{number:020d}"
        record["category"] = "success" if number % 2 else "credentials_failed"
        record["timestamp"] = f"2026-10-3{number % 2}T0{number}:00:00Z"
        record["target_user"].update(name=HOSTILE["name"], email=HOSTILE["email"])
        record["client"].update(app_name=HOSTILE["app_name"], os_name=HOSTILE["os_name"])
        lines.append(record)
        item = copy.deepcopy(usage)
        item["uuid"] = f"USAGE{number:021d}"
        item["timestamp"] = f"2026-10-3{number % 2}T1{number}:00:00Z"
        # A second person of the same name: asking for it lists both, labels and all.
        item["user"].update(name=HOSTILE["name"], email="\u202eother@acme.example")
        item["client"].update(ip_address=ADDRESS, os_name=HOSTILE["os_name"])
        lines.append(item)
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("hostile") / "events.db"
    status = main(
        ["convert", "--quiet", "--store", str(store)],
        stdin=io.BytesIO(_records()),
        stdout=io.BytesIO(),
        stderr=io.StringIO(),
    )
    assert status == 0
    return store


def _assert_safe(text: str, *, terminal: bool) -> None:
    shown = _STYLE.sub("", text) if terminal else text
    unsafe = sorted({c for c in shown if not c.isprintable() and c != "\n"})
    assert not unsafe, [hex(ord(c)) for c in unsafe]
    # No stored line break made a row of its own: the fake row is one escaped cell.
    assert not any(
        line.lstrip().startswith("2026-10-30 09:00:00  sign-in") for line in shown.splitlines()
    )


QUESTIONS = [
    ["ip", ADDRESS],
    ["user", "3K6R3OGTLKYTCBRHJ5Q7DP4XPA"],
    ["anomalies"],
    ["vault", "aqk6toxie3nopus2rmrgtn4swg"],
    ["item", "hx5ndhmtfkauxbtw6djg6ksrej"],
]


class _Terminal(io.BytesIO):
    """Standard output that says it is a terminal: investigate styles its pages."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q[0])
def test_answers_hold_no_control_or_bidi_character(
    hostile_store: Path, question: list[str], terminal: bool
) -> None:
    out, err = (_Terminal() if terminal else io.BytesIO()), io.StringIO()
    argv = ["investigate", *question, "--store", str(hostile_store), "--since", "2026-10-01"]
    status = main([*argv, "--until", "2026-11-01", "--width", "140"], stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    text = out.getvalue().decode("utf-8")
    if terminal:
        assert "\x1b[" in text  # a styled page: rich wrote its own sequences
    _assert_safe(text, terminal=terminal)
    if question[0] in ("ip", "user") and not terminal:
        assert "eve\\u202egro" in text  # shown escaped: reads as what it is


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain Dana Levi", "plain Dana Levi"),
        ("a\x1b[2Jb", "a\\u001b[2Jb"),
        ("row\nfake", "row\\u000afake"),
        ("\u202eabc", "\\u202eabc"),
        ("x\u200fy\u2028z\u2066", "x\\u200fy\\u2028z\\u2066"),
        ("tab\there", "tab\\u0009here"),
        ("c1\x9b31m", "c1\\u009b31m"),
        ("tag\U000e0041", "tag\\U000e0041"),
    ],
)
def test_terminal_text_escapes_what_is_not_printable(raw: str, shown: str) -> None:
    assert terminal_text(raw) == shown


def test_report_errors_quoting_stored_names_are_escaped(hostile_store: Path) -> None:
    """``report --user`` naming nobody (or several people) quotes what was asked and
    what the store holds: escaped too, since it goes to the terminal."""
    err = io.StringIO()
    status = main(
        ["report", "--store", str(hostile_store), "--user", HOSTILE["name"], "--json"],
        stdout=io.BytesIO(),
        stderr=err,
    )
    assert status == 2
    assert "matches several people" in err.getvalue()
    _assert_safe(err.getvalue(), terminal=False)
    assert "\\u202eother@acme.example" in err.getvalue()
