from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from aeflow.config import config_from_dict, load_config, reference_markdown
from aeflow.config_schema import duration, format_duration
from rules.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def minimal() -> dict[str, object]:
    return {
        "ae": {"name": "AE", "email": "ae@agency.example", "manager": "boss@agency.example"},
        "clients": [{"name": "Acme", "domains": ["acme.example"]}],
    }


def test_the_example_config_loads_with_every_table() -> None:
    config = load_config(REPO / "config.example.toml")
    assert config.ae.email == "xiaoming.wang@agency.example"
    assert config.ae.manager == "lihua.chen@agency.example"
    assert config.backend.kind == "local"
    assert config.backend.calendar == REPO / "calendar"
    assert [c.name for c in config.clients] == ["Acme Beverages", "华东食品"]
    acme = config.clients[0]
    assert acme.language == "en"
    assert [c.person.email for c in acme.contacts if c.decision_maker] == [
        "jane.doe@acme-bev.example"
    ]
    assert acme.team[0].email == "mei.zhang@agency.example"
    assert config.policies.receipts.confirm_within == timedelta(hours=4)
    assert config.policies.weekly.time == time(16, 30)
    assert config.workdays.hours == ((time(9), time(12)), (time(13), time(18)))


def test_a_minimal_config_takes_every_default() -> None:
    config = config_from_dict(minimal(), Path("/tmp/aeflow.toml"))
    assert config.ae.timezone == "Asia/Shanghai"
    assert config.ae.language == "zh-CN"
    assert config.backend.state == Path("/tmp/state/aeflow.json")
    assert config.backend.smtp is None
    assert config.policies.confirmation.time == time(10)
    assert config.policies.minutes.deadline == timedelta(hours=24)
    assert config.workdays.weekend == (5, 6)
    assert config.templates_folder is None


def test_an_exchange_backend_takes_its_settings_with_the_aes_address_by_default() -> None:
    raw = minimal()
    raw["backend"] = {
        "kind": "ews",
        "ews": {"server": "mail.agency.example", "password_env": "AEFLOW_EWS_PASSWORD"},
    }
    ews = config_from_dict(raw, Path("/tmp/aeflow.toml")).backend.ews
    assert ews is not None
    assert ews.email == raw["ae"]["email"] and ews.auth == "ntlm"
    assert ews.endpoint == "https://mail.agency.example/EWS/Exchange.asmx"
    assert ews.timeout == 60.0 and ews.token_cache is None


def test_an_exchange_backend_without_a_way_to_the_server_is_refused_with_its_keys() -> None:
    raw = minimal()
    raw["backend"] = {"kind": "ews", "ews": {"auth": "oauth2"}}
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("bad.toml"))
    assert {p.where.split(".")[1] for p in caught.value.problems} == {"ews"}
    assert any("server" in p.message or "ews_url" in p.message for p in caught.value.problems)


def test_five_different_mistakes_are_reported_together_with_their_keys() -> None:
    raw = minimal()
    raw["ae"] = {"name": "AE", "email": "nobody", "manager": "boss@agency.example", "tz": "x"}
    raw["workdays"] = {"extra_holidays": ["2027-13-01"]}
    raw["policies"] = {"receipts": {"confirm_within": "soon"}}
    raw["backend"] = {"kind": "graph"}
    raw["clients"] = [{"name": "Acme", "domains": ["acme.example"], "language": "fr"}]
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("bad.toml"))
    where = {p.where for p in caught.value.problems}
    assert where == {
        "ae.email",
        "ae.tz",
        "workdays.extra_holidays",
        "policies.receipts.confirm_within",
        "backend.kind",
        "clients[1].language",
    }
    messages = {p.where: p.message for p in caught.value.problems}
    assert "unknown key" in messages["ae.tz"]
    assert "not in this version" in messages["backend.kind"]
    assert "2027-13-01" in messages["workdays.extra_holidays"]


def test_a_missing_required_key_says_what_it_is_for() -> None:
    raw = minimal()
    del raw["ae"]["manager"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("bad.toml"))
    (problem,) = caught.value.problems
    assert problem.where == "ae.manager"
    assert "escalations" in problem.message


def test_one_person_cannot_be_a_contact_of_two_clients() -> None:
    raw = minimal()
    contact = {"email": "jane@shared.example"}
    raw["clients"] = [
        {"name": "A", "contacts": [contact]},
        {"name": "B", "contacts": [contact]},
    ]
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("bad.toml"))
    assert [p.where for p in caught.value.problems] == ["clients[2].contacts[1].email"]


def test_dates_may_be_toml_dates_or_strings(tmp_path: Path) -> None:
    path = tmp_path / "aeflow.toml"
    path.write_text(
        '[ae]\nname = "AE"\nemail = "ae@a.example"\nmanager = "m@a.example"\n'
        '[workdays]\nextra_working_days = [2027-02-20, "2027-02-21"]\n'
        '[[clients]]\nname = "C"\ndomains = ["c.example"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.workdays.extra_working_days == (date(2027, 2, 20), date(2027, 2, 21))
    assert config.backend.state == tmp_path / "state" / "aeflow.json"


def test_a_file_that_is_not_toml_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[ae\nname =", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "not valid TOML" in str(caught.value)


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d 4h", timedelta(days=2, hours=4)),
    ],
)
def test_durations_read_and_print_back(text: str, expected: timedelta) -> None:
    assert duration(text) == expected
    assert duration(format_duration(expected)) == expected


def test_the_config_reference_in_docs_is_generated_from_the_schema() -> None:
    assert (REPO / "docs" / "CONFIG.md").read_text(encoding="utf-8") == reference_markdown() + "\n"
