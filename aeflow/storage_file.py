"""The state file on disk: atomic replacement, the last good backup, and the one-daemon lock.

A write never changes the state file in place. The new contents go to a temporary file in the same
folder, which is flushed, synced and renamed over the state file; the folder is synced so the rename
survives a power cut. Just before that, the current file is kept as ``<name>.bak`` (a hard link,
or an atomic copy where links are not allowed), so a reader finds either the old contents or the
new, and the last good state is always one rename away.

A file that does not read back as what aeflow writes is never overwritten: opening it raises
``StoreCorruptError`` and leaves it exactly as it was.

The lock is an OS lock on ``<name>.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows), so it
goes away with the process that held it, however that process ended. The lock file is never deleted:
deleting it would let two processes lock two different files of the same name.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from rules.errors import StoreError

_TEMP_SUFFIX = ".tmp"


class StoreLockedError(StoreError):
    """Another process holds the state file's lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(
            f"another aeflow is already using {path} ({holder}); stop it first, "
            "or give this one a state file of its own"
        )


class StoreCorruptError(StoreError):
    """The state file is not what aeflow writes; it was left untouched."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        backup = backup_path(path)
        self.backup: Path | None = backup if backup.is_file() else None
        if self.backup is not None:
            restore = f"restore the last good backup {backup} by copying it over {path}, or "
        else:
            restore = "there is no backup (no " + str(backup) + "); "
        super().__init__(
            f"the state file {path} cannot be used: {problem}. aeflow will not overwrite it; "
            f"{restore}move it aside to start afresh, and aeflow rebuilds its state from Sent Items"
        )


class StoreVersionError(StoreError):
    """The state file was written by a newer aeflow."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"the state file {path} was written by a newer aeflow (state schema {found}; this one "
            f"reads up to {supported}); upgrade aeflow to use it. The file was left as it was"
        )


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


# --- the lock -------------------------------------------------------------------------------------

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import errno
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        return True


class StateLock:
    """The exclusive lock on ``<state file>.lock``, held from open to close."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_path: Path) -> StateLock:
        """Take the lock at once or raise ``StoreLockedError``; never waits."""
        path = lock_path(state_path)
        try:
            # No O_TRUNC: the holder's pid must survive a contender opening the file.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StoreError(f"cannot create the lock file {path}: {error.strerror}") from error
        try:
            locked = _try_lock(fd)
        except OSError as error:
            os.close(fd)
            raise StoreError(f"cannot lock {path}: {error.strerror}") from error
        if not locked:
            pid = _read_pid(fd)
            os.close(fd)
            raise StoreLockedError(state_path, pid)
        # The pid starts at offset 1 because Windows forbids others to read the locked byte 0.
        with suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"\n{os.getpid()}\n".encode("ascii"))
        return cls(path, fd)

    def release(self) -> None:
        """Let go of the lock; closing the descriptor releases it on every platform."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 1, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


# --- reading and writing the file -----------------------------------------------------------------


def read_state_file(path: Path) -> Any:
    """The parsed JSON of the state file, or ``None`` when there is none.

    Raises ``StoreCorruptError`` when the file is empty, not UTF-8 or not JSON, and ``StoreError``
    when it cannot be read at all. Whether the JSON has the right shape is for the caller to judge.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"cannot read the state file {path}: {error.strerror}") from error
    if not data.strip():
        raise StoreCorruptError(path, "it is empty")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise StoreCorruptError(path, f"it is not UTF-8 text (byte {error.start})") from error
    except json.JSONDecodeError as error:
        problem = f"it is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        raise StoreCorruptError(path, problem) from error
    except (ValueError, RecursionError) as error:
        raise StoreCorruptError(path, f"it is not valid JSON ({error})") from error


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def encode_state(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def write_state_file(path: Path, document: dict[str, Any]) -> None:
    """Replace the state file with ``document`` atomically, keeping the old one as ``.bak``.

    On failure the state file is as it was, and ``StoreError`` says why.
    """
    data = encode_state(document)
    try:
        if path.exists():
            keep_copy(path, backup_path(path))
        _replace_with_bytes(path, data)
        _sync_folder(path.parent)
    except OSError as error:
        raise StoreError(
            f"cannot write the state file {path}: {error.strerror or error}; "
            "its previous contents are intact"
        ) from error


def keep_copy(source: Path, target: Path) -> None:
    """Make ``target`` a complete copy of ``source`` in one step; no reader sees half of it."""
    temp = _temp_name(target)
    try:
        os.link(source, temp)
    except OSError:
        # Some file systems (FAT, many network shares) have no hard links: copy instead.
        with suppress(FileNotFoundError):
            os.unlink(temp)
        with source.open("rb") as reader, open(temp, "xb") as writer:
            shutil.copyfileobj(reader, writer)
            writer.flush()
            os.fsync(writer.fileno())
    try:
        os.replace(temp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def _replace_with_bytes(path: Path, data: bytes) -> None:
    temp = _temp_name(path)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as writer:
            writer.write(data)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def _sync_folder(folder: Path) -> None:
    if os.name == "nt":  # pragma: no cover - Windows cannot open a folder; its renames are durable
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TEMP_SUFFIX}")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files a killed writer left beside ``path``; only safe under the lock."""
    removed: list[Path] = []
    # Exact names only: another state file in the same folder may be writing its own temporaries.
    ours = re.compile(
        rf"\.{re.escape(path.name)}(\.bak|\.schema-\d+\.bak)?\.[0-9a-f]{{12}}{re.escape(_TEMP_SUFFIX)}"
    )
    with suppress(FileNotFoundError):
        for entry in path.parent.iterdir():
            if ours.fullmatch(entry.name):
                with suppress(OSError):
                    entry.unlink()
                    removed.append(entry)
    return removed


# --- the TinyDB storage ---------------------------------------------------------------------------


class StateStorage(Storage):
    """A TinyDB storage over one in-memory document, written to ``path`` atomically.

    Outside a batch every write goes to disk at once; inside ``batch()`` writes only change the
    document, and the outermost batch writes the file once when it ends, whether its block
    finished or raised: what a failed tick already recorded (an action marked ``sending`` or
    ``sent``) must not be lost. With ``path`` ``None`` nothing is ever written (the in-memory
    store used by tests and the demo).
    """

    def __init__(self, path: Path | None, document: dict[str, Any]) -> None:
        super().__init__()
        self.path = path
        self._document = document
        self._depth = 0
        self._dirty = False
        self._closed = False

    def read(self) -> dict[str, dict[str, Any]]:
        self._check_open()
        return self._document

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._check_open()
        self._document = data
        self._dirty = True
        if self._depth == 0:
            self.flush()

    def flush(self) -> None:
        """Write the document if it changed since the last write; keeps it pending on failure."""
        if self._dirty and self.path is not None:
            write_state_file(self.path, self._document)
        self._dirty = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._check_open()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and not self._closed:
                self.flush()

    def close(self) -> None:
        if not self._closed:
            try:
                self.flush()
            finally:
                self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            where = self.path if self.path is not None else "the in-memory store"
            raise StoreError(f"{where} is closed")


class _IdView(MutableMapping[int, Any]):
    """A table's raw documents (string ids, as JSON has them) seen with the int ids TinyDB uses."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getitem__(self, doc_id: int) -> Any:
        return self._raw[str(doc_id)]

    def __setitem__(self, doc_id: int, document: Any) -> None:
        self._raw[str(doc_id)] = document

    def __delitem__(self, doc_id: int) -> None:
        del self._raw[str(doc_id)]

    def __iter__(self) -> Iterator[int]:
        return (int(doc_id) for doc_id in list(self._raw))

    def __len__(self) -> int:
        return len(self._raw)


class _Table(Table):
    # TinyDB copies a whole table, converting every id, on each write. A year of deliveries makes
    # that thousands of conversions per delivery update; this edits the table where it lies.
    def _update_table(self, updater: Callable[[dict[int, Mapping[Any, Any]]], None]) -> None:
        tables = self._storage.read() or {}
        raw = tables.setdefault(self.name, {})
        updater(cast(dict[int, Mapping[Any, Any]], _IdView(raw)))
        self._storage.write(tables)
        self.clear_cache()


class StateDatabase(TinyDB):
    """TinyDB with tables that write in place (see ``_Table``)."""

    table_class = _Table
