"""The systemd unit in the repository starts aeflow with options aeflow accepts."""

from __future__ import annotations

import configparser
import shlex

from aeflow.cli import build_parser
from tests.conftest import REPO


def test_the_unit_runs_the_daemon_with_a_command_line_aeflow_accepts() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO / "systemd" / "aeflow.service", encoding="utf-8")
    service = unit["Service"]
    program, *arguments = shlex.split(service["ExecStart"].replace("%h", "/home/ae"))
    assert program.endswith("/aeflow")
    parsed = build_parser().parse_args(arguments)
    assert parsed.command == "run"
    assert str(parsed.config) == "/home/ae/.config/aeflow/aeflow.toml"
    assert service["KillSignal"] == "SIGTERM"
    # Exit status 2 means "fix the config or the state file": restarting would not help.
    assert service["RestartPreventExitStatus"] == "2"
    assert unit["Install"]["WantedBy"] == "default.target"
