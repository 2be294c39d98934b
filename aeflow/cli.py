"""The ``aeflow`` command line. One handler turns aeflow's errors into messages and exit codes:
0 success, 1 some input could not be read or sending is held (a server refused the connection or
the login: nothing failed, what is due goes once it is fixed), 2 a problem the user must fix
before anything runs (config, state file)."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aeflow import __version__
from rules.errors import AeflowError, BackendUnavailable, ConfigError, UserError

log = logging.getLogger("aeflow")

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aeflow",
        description="Keeps an account executive's client-service discipline on their own mailbox "
        "and calendar: confirmations, receipts, minutes, weekly schedules.",
    )
    parser.add_argument("--version", action="version", version=f"aeflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check-config",
        help="check a configuration file and summarise it",
        description="Check a configuration file. Exit 0 with a summary when it is valid; exit 2 "
        "listing every problem, each with its table.key, when it is not.",
    )
    check.add_argument("config", type=Path, metavar="FILE")
    check.set_defaults(handler=_lazy("aeflow.commands.check_config", "run"))

    inspect = commands.add_parser(
        "inspect",
        help="show what aeflow understands of .ics and mail files",
        description="Show what aeflow understands of each .ics or mail file. Exit 1 when any file "
        "was unreadable, else 0.",
    )
    inspect.add_argument("files", type=Path, nargs="+", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="one JSON object per line")
    inspect.add_argument(
        "--zone", default="", help="time zone for floating and all-day times (default: local UTC)"
    )
    inspect.add_argument(
        "--occurrences", type=int, default=3, help="how many next occurrences to list (default 3)"
    )
    inspect.set_defaults(handler=_lazy("aeflow.commands.inspect", "run"))

    reference = commands.add_parser(
        "config-reference", help="print the configuration reference (Markdown)"
    )
    reference.set_defaults(handler=_lazy("aeflow.commands.check_config", "reference"))

    sync = commands.add_parser(
        "sync",
        help="read the calendar and the inbox once into the state file",
        description="Read what changed in the calendar and the inbox since the last sync into the "
        "state file, and report it. Sends nothing.",
    )
    sync.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    sync.set_defaults(handler=_lazy("aeflow.commands.sync", "run"))

    run = commands.add_parser(
        "run",
        help="run aeflow as a background service",
        description="Sync, plan and send at every sync interval and at each planned moment, "
        "until SIGTERM or SIGINT (which let the current action finish).",
    )
    _engine_options(run)
    run.add_argument("--clock", type=Path, help=argparse.SUPPRESS)  # rehearsals: time from a file
    run.set_defaults(handler=_lazy("aeflow.commands.engine", "run"))

    tick = commands.add_parser(
        "tick",
        help="sync, plan and send once",
        description="One tick: read the calendar and the inbox, plan, send what is due. With "
        "--dry-run the calendar and inbox are read as usual, but nothing is sent and no action "
        "is recorded; what would go is shown.",
    )
    _engine_options(tick)
    tick.add_argument("--dry-run", action="store_true", help="show what would go; send nothing")
    tick.add_argument("--now", help="act as if it were this time (ISO 8601; default: now)")
    tick.set_defaults(handler=_lazy("aeflow.commands.engine", "tick"))

    history = commands.add_parser(
        "history",
        help="what was sent to whom, when, and what confirmed it (the archive too)",
        description="Every tracked mail aeflow sent, from the monthly archives "
        "(state/archive/YYYY-MM.json) and the live state: when, to whom, and what confirmed "
        "it (a reply, a read receipt, a meeting answer, a call). Read-only: it runs beside the "
        "daemon.",
    )
    history.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    history.add_argument("--client", metavar="NAME", help="only the mail of this client")
    history.add_argument("--since", metavar="DATE", help="only mail sent on or after this date")
    history.add_argument("--json", action="store_true", help="print JSON instead of lines")
    history.set_defaults(handler=_lazy("aeflow.commands.history", "history"))

    status = commands.add_parser(
        "status",
        help="meetings ahead, mail awaiting confirmation, escalations",
        description="Upcoming client meetings with each attendee's confirmation state, mail "
        "awaiting confirmation with its deadlines, and escalations sent.",
    )
    status.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    status.add_argument("--now", help="as of this time (ISO 8601; default: now)")
    status.set_defaults(handler=_lazy("aeflow.commands.status", "status"))

    planned = commands.add_parser(
        "plan",
        help="what will happen when, if nothing changes",
        description="The actions planned from the current state, with when they will go.",
    )
    planned.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    planned.add_argument("--now", help="as of this time (ISO 8601; default: now)")
    planned.add_argument("--until", help="up to this time (default: the next 7 days)")
    planned.set_defaults(handler=_lazy("aeflow.commands.status", "plan"))

    minutes = commands.add_parser(
        "minutes",
        help="minutes owed, taken in and sent",
        description="Minutes within 24 hours of every client meeting: submit them (Markdown or "
        "text, or reply to aeflow's prompt), list what is owed, show what was taken in.",
    )
    minutes_commands = minutes.add_subparsers(dest="minutes_command", required=True)
    submit = minutes_commands.add_parser(
        "submit",
        help="take in the minutes of a meeting (they then go to every attendee)",
        description="Take in the minutes of MEETING (its key from `aeflow minutes list`, a "
        "prefix of it, or its exact subject) from --file or standard input. The sections "
        "Conclusions / Next steps (what - owner - due date) / Open questions are read when "
        "present; otherwise the whole text is sent.",
    )
    submit.add_argument("meeting", metavar="MEETING")
    submit.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    submit.add_argument("--file", type=Path, help="read the minutes from this file")
    submit.add_argument(
        "--correction", action="store_true", help="send a clearly marked corrected version"
    )
    submit.add_argument("--now", help=argparse.SUPPRESS)
    submit.set_defaults(handler=_lazy("aeflow.commands.minutes", "submit"))
    owed = minutes_commands.add_parser("list", help="client meetings ended and their minutes")
    owed.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    owed.add_argument("--now", help="as of this time (ISO 8601; default: now)")
    owed.set_defaults(handler=_lazy("aeflow.commands.minutes", "list_owed"))
    shown = minutes_commands.add_parser("show", help="the minutes taken in for a meeting")
    shown.add_argument("meeting", metavar="MEETING")
    shown.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    shown.add_argument("--now", help=argparse.SUPPRESS)
    shown.set_defaults(handler=_lazy("aeflow.commands.minutes", "show"))

    doctor = commands.add_parser(
        "doctor",
        help="check the connection to the Exchange mailbox, step by step",
        description="Check the way to the Exchange (EWS) mailbox: DNS, TCP, TLS, the login "
        "(401: the credentials; 403: EWS turned off for the tenant), throttling, the folders "
        "aeflow reads, aeflow's property on Sent Items. Exit 0 when all is well, 1 when the "
        "server is busy or unreachable for now, 2 when something must be fixed.",
    )
    doctor.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    doctor.set_defaults(handler=_lazy("aeflow.commands.doctor", "run"))
    invite = commands.add_parser(
        "invite",
        help="book a client meeting and send its meeting request",
        description="Book a meeting with CLIENT in your calendar (tagged with the client's "
        "category, the agenda in its notes) and send the meeting request to the client's "
        "contacts marked invite and the client's team: time, place, attendees, the agenda with "
        "clock times, what to bring, your phone. With a running daemon the request goes at its "
        "next sync; else at once. An agenda longer than the meeting is refused before anything "
        "is booked.",
    )
    invite.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    invite.add_argument("--client", required=True, metavar="NAME", help="the client's name")
    invite.add_argument("--subject", required=True, metavar="TEXT")
    invite.add_argument(
        "--start", required=True, metavar="TIME", help="ISO 8601, in your zone unless it has one"
    )
    length = invite.add_mutually_exclusive_group()
    length.add_argument("--duration", metavar="D", help="like 1h, 90m, 1h30m (default 1h)")
    length.add_argument("--end", metavar="TIME", help="ISO 8601, instead of --duration")
    invite.add_argument("--location", default="", metavar="TEXT")
    invite.add_argument(
        "--agenda",
        type=Path,
        metavar="FILE",
        help="topics with minutes: Markdown/text lines ('1. Creative review - 30 min', "
        "'Bring: ...') or TOML ([[topic]] title, minutes; bring = [...])",
    )
    invite.add_argument(
        "--optional",
        nargs="+",
        default=[],
        metavar="EMAIL",
        help="invite these people as optional attendees",
    )
    invite.add_argument(
        "--dry-run",
        action="store_true",
        help="print the notice and recipients; book and send nothing",
    )
    invite.add_argument("--now", help=argparse.SUPPRESS)
    invite.set_defaults(handler=_lazy("aeflow.commands.invite", "run"))
    demo = commands.add_parser(
        "demo",
        help="run aeflow through a simulated week of client work",
        description="Build a workspace (config, calendar, Maildirs) and run the real engine "
        "through a simulated week while clients read, reply, accept, decline, stay silent and "
        "bounce. Prints a timeline; leaves every sent mail in DIR/eml. Nothing leaves the "
        "machine.",
    )
    demo.add_argument(
        "--dir",
        dest="folder",
        type=Path,
        default=Path("demo"),
        metavar="DIR",
        help="where to build it (default ./demo); an earlier demo there is replaced",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON line of counts")
    demo.set_defaults(handler=_lazy("aeflow.commands.demo", "run"))
    return parser


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", type=Path, required=True, metavar="FILE")
    parser.add_argument(
        "--catch-up",
        action="store_true",
        help="on first start, also send what came due before aeflow was installed, and meeting "
        "requests for tagged appointments already in the calendar",
    )


def _lazy(module: str, name: str) -> Handler:
    """Import a command's module only when it runs, so ``aeflow --help`` stays quick."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        function: Handler = getattr(importlib.import_module(module), name)
        return function(args)

    return handler


def _disk_advice(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "free some space on that disk; nothing was lost, aeflow goes on where it stopped"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "make that folder writable for aeflow; nothing was lost"
    return "nothing was marked sent; run it again once this is fixed"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # flufl.bounce narrates every detector it runs at INFO; only its warnings matter to a user.
    logging.getLogger("flufl.bounce").setLevel(logging.WARNING)
    # exchangelib and the OAuth libraries log requests with their Authorization headers at
    # DEBUG: a verbose run must never print a password or a token.
    for name in ("exchangelib", "requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # APScheduler narrates every job it adds and runs; aeflow logs its own line per tick.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        handler: Handler = args.handler
        return handler(args)
    except ConfigError as error:
        print(f"aeflow: {error}", file=sys.stderr)
        print("Fix these and run `aeflow check-config FILE` again.", file=sys.stderr)
        return 2
    except UserError as error:
        print(f"aeflow: {error}", file=sys.stderr)
        return 2
    except BackendUnavailable as error:
        print(f"aeflow: sending is held: {error}", file=sys.stderr)
        print(
            "Nothing was marked failed: once this is fixed, the next tick sends what is still due.",
            file=sys.stderr,
        )
        return 1
    except AeflowError as error:
        print(f"aeflow: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        # A full disk or a read-only folder under the state or Sent: what was being sent is
        # back to unsent, and goes at the first tick after the fix.
        where = f"{error.filename}: " if error.filename else ""
        print(f"aeflow: {where}{error.strerror or error}; {_disk_advice(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aeflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
