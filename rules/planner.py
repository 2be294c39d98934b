"""``plan(now, state, policies)``: every action that is due, from the state alone.

Level-triggered: recomputed from the current state at every tick, so a moved or cancelled meeting
changes the plan by itself, and an action whose key is done is never planned again. Pure: it reads
no clock, no file and no network.

For each candidate the policies propose, in order: a done key is dropped; one that came due before
aeflow was installed is skipped; mail that must wait for working time is moved to the next working
moment; one past its expiry (or whose next working moment is) is skipped; one still ahead sets the
next wake-up; the rest are due now. Escalations due together become one digest to the manager.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from rules.address_notes import address_notes
from rules.confirmation import confirmation_actions, decision_actions
from rules.invitations import invitation_actions
from rules.joint import joint_meeting_notes
from rules.minutes import minutes_actions, note_actions
from rules.model import Action, require_aware
from rules.planning import IMMEDIATE_KINDS, Plan, PlanState, Skipped
from rules.policies import Policies
from rules.receipts import receipt_actions
from rules.weekly import weekly_actions


def candidates(now: datetime, state: PlanState, policies: Policies) -> list[Action]:
    """Every action the policies propose, done or not, due or not."""
    zone = state.workdays.zone
    found: list[Action] = []
    found.extend(invitation_actions(state, zone, now))
    found.extend(confirmation_actions(state, policies.confirmation, zone))
    found.extend(decision_actions(state, policies.confirmation, zone, now))
    found.extend(receipt_actions(state, policies.receipts, zone))
    found.extend(minutes_actions(state, policies.minutes, zone, now))
    found.extend(note_actions(state))
    found.extend(weekly_actions(state, policies.weekly, zone, now))
    found.extend(joint_meeting_notes(state, zone, now))
    found.extend(address_notes(state, zone, now))
    return found


def plan(now: datetime, state: PlanState, policies: Policies) -> Plan:
    require_aware("now", now)
    due: list[Action] = []
    upcoming: list[Action] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for action in candidates(now, state, policies):
        if action.key in state.done or action.key in seen:
            continue
        seen.add(action.key)
        if state.not_before is not None and action.due < state.not_before:
            skipped.append(Skipped(action.key, action.kind, "came due before aeflow was installed"))
            continue
        when = _sending_time(action, state)
        if action.expires is not None and max(when, now) >= action.expires:
            # Later is never better: an expired action, or one whose first sending moment is past
            # its expiry, can never go, so it is given up now (and said so, once).
            reason = "expired" if now >= action.expires else "no working time before it expires"
            skipped.append(Skipped(action.key, action.kind, reason))
            continue
        timed = action if when == action.due else _moved(action, when)
        (due if when <= now else upcoming).append(timed)
    due.sort(key=lambda a: (a.due, a.key))
    upcoming.sort(key=lambda a: (a.due, a.key))
    next_wake = upcoming[0].due if upcoming else None
    return Plan(tuple(_digest(due, state)), tuple(skipped), next_wake, tuple(upcoming))


def _sending_time(action: Action, state: PlanState) -> datetime:
    if action.kind in IMMEDIATE_KINDS:
        return action.due
    return state.workdays.next_working_moment(action.due)


def _moved(action: Action, when: datetime) -> Action:
    return replace(action, due=when)


def _digest(actions: Iterable[Action], state: PlanState) -> list[Action]:
    """Escalations due in the same tick go to the manager as one mail covering them all."""
    out: list[Action] = []
    escalations: list[Action] = []
    for action in actions:
        (escalations if action.kind == "escalation" else out).append(action)
    if not escalations:
        return out
    covered = tuple(a.key for a in escalations)
    digest_id = hashlib.sha256("\n".join(sorted(covered)).encode()).hexdigest()[:16]
    if f"digest:{digest_id}" in state.done:
        return out
    out.append(
        Action(
            key=f"digest:{digest_id}",
            kind="escalation",
            due=max(a.due for a in escalations),
            expires=None,
            recipients=(state.ae.manager,),
            client="",
            language=state.ae.language,
            data={
                "items": [a.data["item"] for a in escalations if "item" in a.data],
                "late_minutes": [a.data["late"] for a in escalations if "late" in a.data],
                "ae": {"name": state.ae.person.name, "email": state.ae.person.email},
            },
            covers=covered,
        )
    )
    return sorted(out, key=lambda a: (a.due, a.key))
