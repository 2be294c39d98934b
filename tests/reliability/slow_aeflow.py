"""``aeflow`` with a Maildir that takes its time to send (up to 40 ms before and after filing).

A real mailbox is slower than a local folder; on a folder a whole tick's sends take a few
milliseconds, so a kill at a random moment would almost never land between a mail's intent and
its "sent" mark. The kill test runs the real daemon through this script to widen that window.
"""

import random
import sys
import time

import mailer.maildir as maildir
from aeflow.cli import main

_send = maildir.MaildirMailbox.send


def _slow_send(self: maildir.MaildirMailbox, message: object, key: str) -> str:
    time.sleep(random.uniform(0, 0.04))
    message_id = _send(self, message, key)  # type: ignore[arg-type]
    time.sleep(random.uniform(0, 0.04))
    return message_id


maildir.MaildirMailbox.send = _slow_send  # type: ignore[method-assign]
sys.exit(main(sys.argv[1:]))
