"""The daemon's health line for systemd: READY, STATUS, WATCHDOG and STOPPING through the
``sd_notify`` protocol (a datagram to the socket systemd names in ``NOTIFY_SOCKET``).

Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing. The protocol is a few lines of
text on a Unix socket, so no library is needed for it. A failure to notify never stops aeflow:
the health line is a courtesy to the service manager, the log says the same.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # An abstract socket is named with a leading "@", which stands for a NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._warned = False

    @property
    def active(self) -> bool:
        return bool(self._address)

    def notify(self, **fields: str) -> None:
        """Send ``NAME=value`` lines (``ready="1"``, ``status="..."``); one line each."""
        if not self._address:
            return
        lines = [
            f"{name.upper()}={' '.join(str(value).split())[:400]}" for name, value in fields.items()
        ]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode("utf-8"), self._address)
        except OSError as error:
            if not self._warned:
                log.warning("cannot tell systemd how aeflow is (%s); it runs on", error)
                self._warned = True

    def ready(self, status: str) -> None:
        self.notify(ready="1", status=status)

    def status(self, status: str) -> None:
        self.notify(status=status, watchdog="1")

    def alive(self) -> None:
        self.notify(watchdog="1")

    def stopping(self) -> None:
        self.notify(stopping="1", status="stopping")
