"""One attendee address no server would take holds nobody else's mail: the others get it, and
the AE is told once which address was left out."""

from __future__ import annotations

from rules.addresses import sendable, smtp_address
from rules.model import Person
from rules.planner import plan
from rules.policies import Policies
from tests.unit.planner_fixtures import AE, JANE, MEI, at, meeting, state

POLICIES = Policies()
TYPO = Person("tom lee@acme.example", "Tom Lee")
DOUBLE = Person("a@b@acme.example", "Who")


def test_the_others_are_confirmed_and_the_ae_hears_of_the_bad_addresses_once() -> None:
    brief = meeting(people=(JANE, TYPO, DOUBLE, MEI))
    current = plan(at(8, 10), state((brief,)), POLICIES)
    (confirmation,) = [a for a in current.due if a.kind == "confirmation"]
    assert set(confirmation.recipients) == {JANE.email, MEI.email}
    (note,) = [a for a in current.due if a.kind == "address_problem"]
    assert note.recipients == (AE.email,)
    assert note.data["addresses"] == sorted([TYPO.email, DOUBLE.email])
    done = frozenset({confirmation.key, note.key})
    assert plan(at(8, 11), state((brief,), done=done), POLICIES).due == ()


def test_an_international_domain_is_sent_to_in_its_ascii_form() -> None:
    assert smtp_address("li@例子.中国") == "li@xn--fsqu00a.xn--fiqs8s"
    assert sendable("li@例子.中国")
    assert not sendable("tom lee@acme.example") and not sendable("no-at-sign")
