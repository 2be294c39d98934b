"""Reading a file that others write: only a regular file, never blocking, never past a cap.

Anyone who can write to the calendar folder can leave a FIFO there (an ``open`` that waits for
ever), a symlink to ``/dev/zero`` (a read that fills memory) or a directory named ``x.ics``. The
path is looked at first, so no device is even opened, and the open descriptor is looked at
again, so a file swapped for a FIFO in between cannot block: it is opened with ``O_NONBLOCK``.

``mailer.files`` is this module's twin for the inbox (neither package sees the other, and the
pure core does no I/O); keep the two alike.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rules.errors import UnreadableInput

MB = 1024 * 1024
ICS_LIMIT = 10 * MB  # the default of [backend] max_ics_bytes
# O_NONBLOCK: a FIFO swapped in after the stat opens at once instead of waiting for a writer;
# O_NOCTTY: a terminal never becomes this process's controlling terminal.
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class RefusedFile(UnreadableInput):
    """Not read at all: not a regular file, or over the size cap. What it is stays the same
    until someone changes it, so it is worth saying once, not at every sync."""


def read_regular(path: Path, limit: int, setting: str) -> bytes:
    """The bytes of the regular file ``path`` (a symlink to one is followed), at most ``limit``.

    Raises ``RefusedFile`` for anything else, saying what it is and what to do (``setting`` names
    the configuration key of the cap); ``OSError`` when the file cannot be opened (gone,
    no permission).
    """
    try:
        kind = _kind(os.stat(path).st_mode)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ELOOP) and os.path.islink(path):
            raise RefusedFile(
                str(path), f"it is {_link(path)}, which leads nowhere; remove it"
            ) from None
        raise
    if kind:
        raise RefusedFile(str(path), f"{_what(path, kind)}, not a regular file; remove it")
    descriptor = os.open(path, _FLAGS)
    try:
        info = os.fstat(descriptor)
        kind = _kind(info.st_mode)
        if kind:
            raise RefusedFile(str(path), f"{_what(path, kind)}, not a regular file; remove it")
        if info.st_size > limit:
            raise RefusedFile(str(path), _too_large(info.st_size, limit, setting))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(descriptor, min(left, MB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:  # it grew past the cap since fstat
            raise RefusedFile(str(path), _too_large(None, limit, setting))
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _kind(mode: int) -> str:
    """What a non-regular file is, in words; ``""`` for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _link(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        return "a symlink"
    # repr, cut short: the target is anyone's text and ends up in a log line
    return f"a symlink to {target[:200]!r}"


def _what(path: Path, kind: str) -> str:
    return f"it is {_link(path)}, {kind}" if os.path.islink(path) else f"it is {kind}"


def _size(size: int) -> str:
    if size < MB:
        return f"{size:,} bytes"
    return f"{size // MB} MB" if size % MB == 0 else f"{size / MB:.1f} MB"


def _too_large(size: int | None, limit: int, setting: str) -> str:
    over = f"over the {_size(limit)} limit ({setting})"
    return f"it is {_size(size) + ', ' if size else ''}{over}; raise the limit or remove the file"
