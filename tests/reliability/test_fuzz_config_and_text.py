"""Fuzzing the configuration loader and the readers of text the AE and the calendar supply.

- ``load_config`` on damaged and randomly edited TOML: a ``Config`` that the daemon can use, or
  a ``ConfigError`` listing problems; never a raw exception (those print a traceback instead of
  telling the user which key to fix).
- Minutes replies: ``read_reply`` on built and damaged mail, ``parse_minutes``,
  ``is_empty_minutes`` and ``parse_next_step`` on hostile text.
- The agenda of a meeting's notes: ``parse_agenda``, ``parse_bring`` and ``schedule``.

Each call is under the hang guard of ``test_fuzz_calendar``; the text parsers get
``TEXT_CALL_SECONDS``, being string work on at most a meeting's 64 kB of notes or a reply.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aeflow.config import Config, load_config, working_calendar
from aeflow.config_schema import SCHEMA, Option, Table
from mailer.minutes_text import Minutes, NextStep, is_empty_minutes, parse_minutes, read_reply
from mailer.next_steps import parse_next_step
from mailer.quotes import Reply
from mailer.signals import parse_message
from rules.agenda import MAX_BRING, MAX_TOPICS, Topic, parse_agenda, parse_bring, schedule
from rules.errors import ConfigError, UnreadableInput, UserError
from rules.limits import MAX_BODY
from tests.conftest import REPO
from tests.reliability.test_fuzz_calendar import (
    CALL_SECONDS,
    EXAMPLES_RUN,
    TEXT_CALL_SECONDS,
    check_problems,
    count,
    fuzz,
    mutated,
    within,
)
from tests.reliability.test_fuzz_mail import damaged_mail, mail_seeds, mime_message

EXAMPLE_CONFIG = (REPO / "config.example.toml").read_bytes()

# --- the configuration --------------------------------------------------------------------------


def check_config_outcome(path: Path) -> Config | ConfigError | UserError:
    """``load_config(path)``: a usable ``Config``, or a ``ConfigError`` that lists what to fix."""
    try:
        config = within(CALL_SECONDS, "load_config", load_config, path)
    except ConfigError as error:
        assert error.problems, "a ConfigError names at least one problem"
        check_problems(error.problems)
        assert str(path) in str(error)
        return error
    except UserError as error:
        assert str(error).strip()
        return error
    assert isinstance(config, Config)
    # What bootstrap does next with it must work too: a config that loads is one that runs.
    zone = ZoneInfo(config.ae.timezone)
    assert zone.key == config.ae.timezone
    working_calendar(config.workdays, config.ae.timezone)
    for interval in (config.backend.sync_interval, config.backend.horizon):
        assert isinstance(interval, timedelta)
    backend = config.backend
    for path in (backend.calendar, backend.inbox, backend.sent, backend.state):
        assert isinstance(path, Path)
        assert "\x00" not in str(path), f"{path!r} cannot be opened (a NUL in a path)"
    return config


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("configs")


def write(folder: Path, data: bytes) -> Path:
    path = folder / "aeflow.toml"
    path.write_bytes(data)
    return path


@fuzz(250)
@given(st.data())
def test_a_damaged_config_file_loads_or_says_what_to_fix(
    config_dir: Path, data: st.DataObject
) -> None:
    raw = data.draw(mutated([EXAMPLE_CONFIG]), label="file")
    check_config_outcome(write(config_dir, raw))
    count("damaged config files")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    # JSON's escapes are TOML's; DEL is the one control character JSON leaves as it is.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """``value`` as a TOML value; tables inline, so that any nesting can be written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(table: dict[str, Any]) -> str:
    return "".join(f"{toml_key(key)} = {toml_value(value)}\n" for key, value in table.items())


HOSTILE_STRINGS = (
    "", " ", "x" * 5000, "\x00", "\u202e", "~nosuchuser/calendar", "~", "../../etc", "/dev/null",
    "America", "Europe/", "UTC/", "a" * 300, "Etc/GMT+99", "Asia/Shanghai", "posixrules",
    "1000000000d", "99999999999999999999h", "999999999d", "0m", "0s", "1d1d", "30", "-1h",
    "25:00", "23:59", "24:00", "9:5", "09:00-09:00", "18:00-09:00", "00:00-23:59", "09:00-",
    "mon", "funday", "2027-02-30", "9999-12-31", "0001-01-01", "2027-02-06T10:00", "CN", "XX",
    "zz", "ews", "graph", "imap", "ntlm", "oauth2", "https://mail.example/EWS/Exchange.asmx",
    "http://127.0.0.1:1/EWS", "en", "zh-CN", "jane@acme.example", "@acme.example", "a@b",
    "AEFLOW_X", "1BAD", "Exchange2016", "http://[::1", "https://[x/EWS", "https://:99999/",
    "https://mail.example:0/EWS", "file:///etc/passwd",
)  # fmt: skip
KEYS = (
    "ae", "backend", "workdays", "clients", "policies", "templates", "smtp", "ews", "contacts",
    "team", "name", "email", "manager", "timezone", "language", "kind", "calendar", "state",
    "sync_interval", "horizon", "max_ics_bytes", "country", "subdivision", "hours", "weekend",
    "extra_holidays", "domains", "category", "decision_maker", "time", "min_lead", "delay",
    "folder", "password", "api_token", "server", "ews_url", "auth", "timeout", "unknown", "",
)  # fmt: skip

scalars = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.integers(-(2**64), 2**64),
    st.sampled_from([0, -1, 1, 64 * 1024, 2**31, 2**63 - 1, 65536, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(date(1, 1, 1), date(9999, 12, 31)),
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=8,
)


def _tables(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every table and list in ``node``, ``()`` (the document) first."""
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, dict | list):
            yield from _tables(value, (*path, key))


def schema_options(
    table: Table, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Option]]:
    """Every option of the schema with its path (in the first table of an array of tables)."""
    for key, option in table.options.items():
        yield (*path, key), option
    for key, sub in table.tables.items():
        yield from schema_options(sub, (*path, key, 0) if sub.many else (*path, key))


OPTIONS = tuple(schema_options(SCHEMA))
# Values aimed at one kind of converter (by its name), besides the hostile strings for all.
AIMED = {
    "zone": ("America", "Europe/", "a" * 300, "UTC/", "posixrules", "Etc/GMT+99", "\x00", ""),
    "duration": ("1000000000d", "99999999999999999999h", "999999999d", "0m", "-1h", "1d1d"),
    "string": ("~nosuchuser/calendar", "~", "\x00", "x" * 5000, "http://[::1", "state/\x00"),
    "clock": ("25:00", "24:00", "9:5", "23:59", "00:00", "-1:00"),
    "convert": ("", 0, -1, 2**63, [], ["25:00-26:00"], ["sat", "funday"], ["2027-02-30"]),
}


@st.composite
def option_value(draw: st.DrawFn, option: Option) -> Any:
    aimed = AIMED.get(option.converter.__name__, ())
    choices = [st.sampled_from(HOSTILE_STRINGS), values]
    if aimed:
        choices += [st.sampled_from(aimed)] * 2
    return draw(st.one_of(choices))


def set_option(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """``document`` with the option at ``path`` set to ``value``, making (or remaking, when an
    earlier edit put a scalar there) the tables on the way."""
    node: Any = document
    for step, after in pairwise(path):
        kind = list if isinstance(after, int) else dict
        if isinstance(node, list):  # step is 0: the first table of the array
            if not node:
                node.append(kind())
            if not isinstance(node[0], kind):
                node[0] = kind()
            node = node[0]
        else:
            if not isinstance(node.get(step), kind):
                node[step] = kind()
            node = node[step]
    node[path[-1]] = value


@st.composite
def edited_config(draw: st.DrawFn) -> dict[str, Any]:
    """The example configuration with one to six edits: an option of the schema set to a
    hostile value (the EWS and SMTP tables too), or anything set, added or removed anywhere."""
    document = tomllib.loads(EXAMPLE_CONFIG.decode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 3)):
            path, option = draw(st.sampled_from(OPTIONS))
            set_option(document, path, draw(option_value(option)))
            continue
        path = draw(st.sampled_from(list(_tables(document))))
        node: Any = document
        for step in path:
            node = node[step]
        if isinstance(node, list):
            if node and draw(st.booleans()):
                node[draw(st.integers(0, len(node) - 1))] = draw(values)
            else:
                node.append(draw(values))
            continue
        keys = sorted(node)
        if keys and draw(st.booleans()):
            key = draw(st.sampled_from(keys))
        else:
            key = draw(st.sampled_from(KEYS))
        if key in node and draw(st.integers(0, 3)) == 0:
            del node[key]
        else:
            node[key] = draw(values)
    return document


@fuzz(300)
@given(document=edited_config())
def test_a_config_with_hostile_values_loads_or_says_what_to_fix(
    config_dir: Path, document: dict[str, Any]
) -> None:
    check_config_outcome(write(config_dir, toml_document(document).encode("utf-8")))
    count("edited configs")


_AE = '[ae]\nname = "x"\nemail = "a@b.example"\nmanager = "m@b.example"\n'
HOSTILE_CONFIGS = {
    "an array nested 5000 deep": "a = " + "[" * 5000 + "]" * 5000,
    "an inline table nested 5000 deep": "a = " + "{b = " * 5000 + "1" + "}" * 5000,
    "a time zone that is a folder": _AE + 'timezone = "America"\n',
    "a time zone of 300 letters": _AE + f'timezone = "{"a" * 300}"\n',
    "a billion days between syncs": '[backend]\nsync_interval = "1000000000d"\n',
    "a horizon of 10^20 hours": '[backend]\nhorizon = "99999999999999999999h"\n',
    "a calendar in the home of nobody": '[backend]\ncalendar = "~nosuchuser/calendar"\n',
    "a state file under a NUL": '[backend]\nstate = "state\\u0000/aeflow.json"\n',
    "a subdivision the country has not": '[workdays]\ncountry = "CN"\nsubdivision = "XX"\n',
    "an EWS URL with a broken IPv6 host": '[backend]\nkind = "ews"\n[backend.ews]\news_url = "http://[::1"\n',
    "a token cache in the home of nobody": '[backend]\nkind = "ews"\n[backend.ews]\nserver = "x"\n'
    'auth = "oauth2"\nclient_id = "c"\ntoken_cache = "~nosuchuser/t.json"\n',
    "a port of 10^30": '[backend.smtp]\nhost = "h"\nport = 1000000000000000000000000000000\n',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_a_hostile_config_value_is_reported_as_a_problem(config_dir: Path, name: str) -> None:
    # Each on top of a valid configuration, so that the one value is all that is wrong; the
    # deeply nested ones as they are (tomllib cannot read them back).
    text = HOSTILE_CONFIGS[name]
    document = tomllib.loads(EXAMPLE_CONFIG.decode("utf-8"))
    try:
        edits = tomllib.loads(text)
    except RecursionError:
        edits = None
    if edits is None:
        raw = text.encode("utf-8")
    else:
        for table, keys in edits.items():
            target = document.setdefault(table, {})
            if isinstance(keys, dict) and isinstance(target, dict):
                target.update(keys)
            else:
                document[table] = keys
        raw = toml_document(document).encode("utf-8")
    check_config_outcome(write(config_dir, raw))


# --- minutes replies ----------------------------------------------------------------------------

HEADINGS = (
    "Conclusions", "## Next steps", "**Open questions:**", "结论：", "下一步", "遗留问题（如有）",
    "Action items:", "1. Decisions", "一、会议结论", "Next steps / 下一步", "【待定问题】",
)  # fmt: skip
PIECES = (
    "- ", "* ", "1. ", "2) ", "（1）", "一、", "• ", "- [ ] ", "- [x] ", " ", "\t", "\u3000",
    "Send the deck - Jane - Dec 5", "Jane: revise budget by 2026-12-05", "王小明负责 12月5日前",
    "owner: Tom; due: 12/5", "(Jane, Friday)", "截止：2026年12月5日", "a@b.example", " -- ",
    " — ", " / ", " | ", "，", "；", ":", "：", "On Mon, 30 Nov 2026 at 11:40, Jane <j@x> wrote:",
    "> ", ">", "-----Original Message-----", "-- ", "Sent from my iPhone", "发自我的iPhone",
    "From: Jane", "发件人: 王小明", "Best regards,", "谢谢", "\x1b[31m", "\u202e", "\u2028", "\r",
    "\x00", "\x85", "---", "===", "Minutes: Acme 10:00", "keep the headings", "31/31", "2026-13-45",
    "sent automatically by aeflow", "由aeflow自动发送",
)  # fmt: skip
runs = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from([" ", "\t", "-", "1", "a ", " -", ": ", "（", "(", "> ", "*", "、", "a", "@"]),
    st.integers(1, 400),
)
fragments = st.one_of(
    st.sampled_from(HEADINGS),
    st.sampled_from(PIECES),
    runs,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
hostile_lines = st.lists(fragments, max_size=6).map("".join)
hostile_texts = st.lists(hostile_lines, max_size=30).map("\n".join)
TODAY = date(2026, 12, 7)
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def check_minutes(minutes: object) -> Minutes:
    assert isinstance(minutes, Minutes)
    assert isinstance(minutes.structured, bool)
    assert not CONTROLS.search(minutes.text), "control and bidi characters are taken out"
    for item in (*minutes.conclusions, *minutes.questions):
        assert isinstance(item, str)
        assert item.strip()
    for step in minutes.next_steps:
        check_next_step(step)
    if not minutes.structured:
        assert not (minutes.conclusions or minutes.next_steps or minutes.questions)
    return minutes


def check_next_step(step: object) -> NextStep:
    assert isinstance(step, NextStep)
    assert isinstance(step.what, str) and isinstance(step.owner, str)
    assert step.due is None or isinstance(step.due, date)
    return step


@fuzz(300)
@given(hostile_texts, st.sampled_from([None, TODAY]))
def test_any_minutes_text_is_read_into_sections(text: str, today: date | None) -> None:
    minutes = check_minutes(
        within(TEXT_CALL_SECONDS, "parse_minutes", parse_minutes, text, today=today)
    )
    assert isinstance(
        within(TEXT_CALL_SECONDS, "is_empty_minutes", is_empty_minutes, minutes), bool
    )
    count("minutes text")


@fuzz(300)
@given(hostile_lines, st.sampled_from([None, TODAY, date(1, 1, 1), date(9999, 12, 31)]))
def test_any_next_step_line_is_read_and_kept_as_written(line: str, today: date | None) -> None:
    step = check_next_step(
        within(TEXT_CALL_SECONDS, "parse_next_step", parse_next_step, line, today)
    )
    assert step.line == line
    count("next step lines")


def check_reply(reply: object, limit: int) -> Reply:
    assert isinstance(reply, Reply)
    assert isinstance(reply.text, str) and isinstance(reply.quoted, str)
    assert isinstance(reply.truncated, bool)
    assert len(reply.text) <= limit
    assert not CONTROLS.search(reply.text)
    return reply


def read_minutes_reply(raw: bytes, limit: int) -> None:
    """A reply read as ``aeflow.minutes_intake`` reads one: parsed, its new text taken out, the
    minutes read from it; or refused."""
    try:
        message = within(CALL_SECONDS, "parse_message", parse_message, raw, "reply.eml")
        reply = within(CALL_SECONDS, "read_reply", read_reply, message, limit=limit)
    except UnreadableInput as error:
        assert error.reason.strip()
        return
    check_reply(reply, limit)
    check_minutes(
        within(TEXT_CALL_SECONDS, "parse_minutes", parse_minutes, reply.text, today=TODAY)
    )


@fuzz(200)
@given(st.data(), st.sampled_from([200_000, 1000, 10, 0]))
def test_a_built_mail_read_as_a_minutes_reply_gives_minutes_or_is_refused(
    data: st.DataObject, limit: int
) -> None:
    read_minutes_reply(data.draw(mime_message(), label="message"), limit)
    count("built mail as minutes replies")


@fuzz(200)
@given(st.data())
def test_a_damaged_real_mail_read_as_a_minutes_reply_gives_minutes_or_is_refused(
    data: st.DataObject,
) -> None:
    read_minutes_reply(data.draw(damaged_mail(mail_seeds()), label="message"), 200_000)
    count("damaged mail as minutes replies")


@fuzz(200)
@given(
    hostile_texts,
    st.sampled_from(["text/plain", "text/html", "text/plain; format=flowed; delsp=yes"]),
)
def test_a_reply_of_any_text_gives_minutes(text: str, ctype: str) -> None:
    body = text.encode("utf-8", errors="replace")
    raw = (
        b"From: xiaoming.wang@agency.example\r\nSubject: Re: Minutes\r\n"
        + f"Content-Type: {ctype}; charset=utf-8\r\n".encode()
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + (b"<div>" + body + b"</div>" if "html" in ctype else body)
    )
    read_minutes_reply(raw, 200_000)
    count("replies of any text")


# --- the agenda in a meeting's notes ------------------------------------------------------------

AGENDA_PIECES = (
    "1. Creative review - 30 min", "2) Budget (15 minutes)", "- Next steps: 10m",
    "议题：创意提案 30分钟", "二、预算讨论 15 分钟", "Bring: laptop, deck", "请携带：样品、合同",
    "what to bring: a; b; c",
    "999 min", "0 min", "601 minutes", " - ", ": ", "（", "分钟", "min", "m", "30", "\r", "\u2028",
)  # fmt: skip
# Runs kept short here: how long lines fare is the business of the hostile-line test below, and
# a slow line must fail it at once rather than make this test crawl.
short_runs = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from([" ", "\t", "-", "1", " -", ": ", "（", "m", "分"]),
    st.integers(1, 40),
)
agenda_lines = st.lists(
    st.one_of(st.sampled_from(AGENDA_PIECES), short_runs, st.text(max_size=15)), max_size=5
).map("".join)
agenda_bodies = st.lists(agenda_lines, max_size=40).map("\n".join)


@fuzz(300)
@given(
    agenda_bodies, st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
)
def test_any_meeting_notes_give_a_bounded_agenda_laid_end_to_end(
    body: str, start: datetime
) -> None:
    topics = within(TEXT_CALL_SECONDS, "parse_agenda", parse_agenda, body)
    assert isinstance(topics, tuple) and len(topics) <= MAX_TOPICS
    for topic in topics:
        assert isinstance(topic, Topic)
        assert topic.title and len(topic.title) <= 200
        assert 0 < topic.minutes <= 600
    laid = schedule(topics, start)
    at = start
    for topic, slot in zip(topics, laid, strict=True):
        assert (slot.title, slot.minutes, slot.start) == (topic.title, topic.minutes, at)
        assert slot.end == at + timedelta(minutes=topic.minutes)
        at = slot.end
    bring = within(TEXT_CALL_SECONDS, "parse_bring", parse_bring, body)
    assert isinstance(bring, tuple) and len(bring) <= MAX_BRING
    assert len(set(bring)) == len(bring)
    assert all(item and len(item) <= 200 for item in bring)
    count("agendas")


# Lines a meeting's notes may hold (up to MAX_BODY), each read once by every text parser.
HOSTILE_LINES: dict[str, Callable[[], str]] = {
    "5000 spaces between two words": lambda: "a" + " " * 5000 + "x",
    "a line of 64 kB of spaces": lambda: "a" + " " * (MAX_BODY - 2) + "x",
    "5000 tabs and spaces before a number": lambda: "Agenda" + " \t" * 2500 + "30",
    "a bring line of 5000 spaces": lambda: "Bring: x" + " " * 5000 + "y",
    "10k dashes": lambda: "-" * 10_000 + "x",
    "10k digits": lambda: "1" * 10_000 + "x",
    "10k colons and spaces": lambda: ": " * 5000 + "x",
    "10k quote marks": lambda: "> " * 5000 + "x",
    "a heading then 10k spaces": lambda: "Next steps:" + " " * 10_000 + "-",
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_LINES))
@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(parse_agenda, id="parse_agenda"),
        pytest.param(parse_bring, id="parse_bring"),
        pytest.param(lambda text: parse_minutes(text, today=TODAY), id="parse_minutes"),
        pytest.param(lambda text: parse_next_step(text[:999], TODAY), id="parse_next_step"),
    ],
)
def test_a_hostile_line_of_notes_is_read_without_hanging(
    reader: Callable[[str], object], shape: str
) -> None:
    text = HOSTILE_LINES[shape]()
    assert within(TEXT_CALL_SECONDS, shape, reader, text) is not None


def test_zz_print_how_many_examples_the_config_and_text_fuzzing_ran(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capsys.disabled():
        for name, total in sorted(EXAMPLES_RUN.items()):
            print(f"\nfuzz examples run: {name}: {total}", end="")
    assert all(total > 0 for total in EXAMPLES_RUN.values())
