"""Unfolding joins each content line once: the same lines as before, without copying a long
folded value at every fold (20 MB of folded DESCRIPTION took minutes). The time itself is a
benchmark's business; these tests check the result and count the copying."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_sync import ics_text
from calendar_sync.ics_text import decode, unfold
from calendar_sync.itip_mail import calendar_part
from tests.conftest import manifest_rows, require_corpus

ROWS = manifest_rows("ics")


def appending_unfold(text: str) -> list[str]:
    """Unfolding as it was written before, appending each continuation to the last line."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    rule = re.compile(r"^(RRULE|EXRULE)([;:])", re.I)
    return [re.sub(r"\s+", "", ln) if rule.match(ln) else ln for ln in lines]


def _text_of(name: str) -> str:
    path: Path = require_corpus("ics") / name
    data = path.read_bytes()
    if path.suffix == ".eml":
        data = calendar_part(data, name)
    text, _ = decode(data, name)
    return text


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_every_corpus_file_unfolds_to_the_same_lines_as_before(row: dict[str, str]) -> None:
    text = _text_of(row["file"])
    assert unfold(text) == appending_unfold(text)


_PIECE = st.text(alphabet=st.sampled_from("AZ:;=,x \t\u00e9\u4e2d"), max_size=12)
_BREAK = st.sampled_from(["\r\n", "\n", "\r", "\r\n ", "\n ", "\r\t", "\n\t", "\r\n  ", "\n\n "])


@st.composite
def folded_text(draw: st.DrawFn) -> str:
    """Content lines broken by any line ending, folded by space or tab, with blank lines, a
    continuation at the very start, and RRULEs written with spaces."""
    out = [draw(st.sampled_from(["", " ", "\t", "RRULE:FREQ=WEEKLY;BYDAY=MO, ", "rrule;"]))]
    for _ in range(draw(st.integers(0, 30))):
        out.append(draw(_PIECE))
        out.append(draw(_BREAK))
    return "".join(out)


@given(folded_text())
@settings(max_examples=400, deadline=None)
def test_folded_text_unfolds_to_the_same_lines_as_before(text: str) -> None:
    assert unfold(text) == appending_unfold(text)


@given(st.text(alphabet=st.sampled_from("A: \t\r\n\u2028\x85"), max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_unfolds_to_the_same_lines_as_before(text: str) -> None:
    assert unfold(text) == appending_unfold(text)


class _Counted(str):
    """A line whose concatenations are counted: the characters each ``+`` copies."""

    copied = 0

    def __add__(self, other: str) -> _Counted:
        joined = _Counted(str.__add__(self, other))
        _Counted.copied += len(joined)
        return joined


def test_a_long_folded_value_is_not_copied_at_every_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 folds of 74 characters: appending copies the growing line each time (about 150
    million characters); joining the pieces once copies none of them by concatenation."""
    value = "DESCRIPTION:" + "\r\n ".join(["x" * 74] * 2000)
    text = f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{value}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

    def counted_split(pattern: str, string: str) -> list[str]:
        return [_Counted(piece) for piece in re.split(pattern, string)]

    shim = types.SimpleNamespace(**{**vars(re), "split": counted_split})
    monkeypatch.setattr(ics_text, "re", shim)
    _Counted.copied = 0
    lines = unfold(text)
    assert lines[2] == "DESCRIPTION:" + "x" * 74 * 2000
    assert _Counted.copied <= len(text)
