"""Templates run in a sandbox: a user's template that reaches for the system (a command, the
environment, a file) does not render, and the engine holds its mail instead of sending it."""

from __future__ import annotations

import mailbox
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import demo_week, write_calendar, write_config
from aeflow.demo_world import World, local
from aeflow.engine import Engine
from mailer.render import Renderer, TemplateError
from tests.unit.test_render_golden import sample_context

SECRET = "smtp-password-7f3a9c"
ID_OUTPUT = subprocess.run(["id"], capture_output=True, text=True, check=False).stdout.strip()

ESCAPES = {
    "a command through cycler": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "a command through joiner": "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "the environment through self": (
        "{{ self.__init__.__globals__.__builtins__.__import__('os').environ }}"
    ),
    "the environment through namespace": "{{ namespace.__init__.__globals__.os.environ }}",
    "a file through builtins": "{{ lipsum.__globals__.__builtins__.open('/etc/passwd').read() }}",
    "the classes of the interpreter": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "an attribute by the attr filter": "{{ (cycler | attr('__init__')).__globals__ }}",
    "an attribute by a format string": "{{ '{0.__class__.__mro__}'.format(meeting) }}",
    "a change to the context": "{{ meeting.update({'subject': 'changed'}) }}",
}


def _override(root: Path, language: str, name: str, content: str) -> Path:
    path = root / language / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("escape", ESCAPES.values(), ids=list(ESCAPES))
def test_a_user_template_that_reaches_for_the_system_does_not_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, escape: str
) -> None:
    monkeypatch.setenv("AEFLOW_SMTP_PASSWORD", SECRET)
    template = _override(tmp_path, "en", "confirmation.txt.j2", f"Hello\n{escape}\n")
    with pytest.raises(TemplateError) as raised:
        Renderer(tmp_path).render("confirmation", "en", sample_context("confirmation", "en"))
    message = str(raised.value)
    assert str(template) in message  # the error names the file to fix
    assert "is unsafe; a template may use the fields of its mail" in message
    assert SECRET not in message and "root:" not in message
    assert not ID_OUTPUT or ID_OUTPUT not in message


@pytest.mark.parametrize("part", ["subject", "txt", "html"])
def test_the_sandbox_applies_to_every_part_of_a_mail(tmp_path: Path, part: str) -> None:
    _override(tmp_path, "zh-CN", f"minutes.{part}.j2", ESCAPES["a command through cycler"])
    with pytest.raises(TemplateError, match="unsafe"):
        Renderer(tmp_path).render("minutes", "zh-CN", sample_context("minutes", "zh-CN"))


def test_the_built_in_templates_still_render_in_the_sandbox() -> None:
    mail = Renderer().render("confirmation", "en", sample_context("confirmation", "en"))
    assert "Spring 2027 launch campaign" in mail.text


def test_a_mail_whose_user_template_reaches_for_the_system_is_held_and_not_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEFLOW_SMTP_PASSWORD", SECRET)
    workdays = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
    week = demo_week(workdays, datetime(2026, 11, 27).date())
    world = World(tmp_path)
    write_calendar(world, week)
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as handle:
        handle.write('\n[templates]\nfolder = "my-templates"\n')
    for language in ("en", "zh-CN"):
        _override(
            tmp_path / "my-templates",
            language,
            "minutes_prompt.txt.j2",
            "{{ cycler.__init__.__globals__.os.environ['AEFLOW_SMTP_PASSWORD'] }}\n",
        )
    clock = FixedClock(local(workdays.previous_working_day(week[0]), "08:00"))
    app = bootstrap(load_config(config), clock)
    try:
        engine = Engine(app, catch_up=True)
        engine.tick()
        clock.set(local(week[0], "12:00"))  # the brief is over: its prompt would go now
        world.now = clock.now()
        report = engine.tick()
    finally:
        app.close()
    held = [(action.kind, reason) for action, reason in report.held]
    assert any(kind == "minutes_prompt" and "unsafe" in why for kind, why in held), held
    assert all(s.action.kind != "minutes_prompt" for s in report.sent)
    for entry in mailbox.Maildir(tmp_path / "mail" / "sent", create=False):
        assert SECRET not in entry.as_bytes().decode("utf-8", "replace")
