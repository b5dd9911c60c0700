"""The run lock: one crawl, rotation or scheduler at a time on a mirror folder.

``<MIRROR_DIR>/.mirror/run.lock`` is held with ``flock(2)`` for as long as
the run lasts, and names its holder (pid, host, command, since) for the
message any other run prints before it exits with :data:`EX_LOCKED`, having
touched nothing. The kernel drops the lock when its holder dies, however it
dies, so a lock left by a killed process is free for the next run, which
says whose it takes over. A scheduler hands its lock to each ``crawlall`` it
starts: the child inherits the locked file (:data:`INHERIT_ENV` names its
descriptor), so a crawl started by cron meanwhile finds the scheduler's lock.

A fleet takes no lock (its add-on turns ``MIRROR_RUN_LOCK`` off): its workers
share one crawl on purpose.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from scrapy.settings import BaseSettings

from crawler.mirror.paths import LOCK_FILE, STATE_DIR

logger = logging.getLogger(__name__)

EX_LOCKED = 75  # EX_TEMPFAIL of sysexits.h: another run holds the mirror, try later
INHERIT_ENV = "NEWS_MIRROR_LOCK_FD"


class FileLock:
    """An exclusive ``flock(2)`` on one file of the mirror's state, held for a
    moment around a read-modify-append of a shared file (the dedup index, the
    revisit schedule), by one thread of this process and one process at a time.

    ``mutex`` is the owner's: it also guards the owner's memory between locks.
    """

    def __init__(self, path: Path, mutex: threading.Lock):
        self.mutex = mutex
        self._file = open(path, "a+b")  # noqa: SIM115 - open for the owner's lifetime
        self._fd = self._file.fileno()

    def held(self) -> FileLock:
        """``with lock.held():`` holds it (a plain context manager: a generator
        one cost more than the lock itself, twice a post)."""
        return self

    def __enter__(self) -> None:
        self.mutex.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self.mutex.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.mutex.release()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()


def command_line(name: str = "") -> str:
    """How this process was started, as a person would type it; ``name`` is
    the Scrapy command, which Scrapy takes out of ``sys.argv``."""
    return " ".join(["scrapy", *filter(None, [name]), *sys.argv[1:]])[:300]


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock."""

    pid: int
    host: str
    command: str
    since: str  # ISO 8601, local time with offset

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}) since {self.since}"

    def dumps(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["host"]), str(data["command"]),
                       str(data["since"]))  # fmt: skip
        except (ValueError, TypeError, KeyError):
            return None


class MirrorLocked(Exception):
    """Another run holds the mirror's lock."""

    def __init__(self, path: Path, holder: Holder | None):
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "a process that has not said who it is yet"
        super().__init__(
            f"The mirror {path.parent.parent} is locked by {who}; lock file {path}. "
            f"Exiting without touching it (status {EX_LOCKED})."
        )


class RunLock:
    """The lock of one mirror folder; :meth:`acquire` it, then :meth:`release` it."""

    def __init__(self, mirror_dir: str | Path):
        self.path = Path(mirror_dir).resolve() / STATE_DIR / LOCK_FILE
        self.fd: int | None = None
        self.inherited = False
        self.took_over: Holder | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RunLock | None:
        """The lock for the settings' mirror; None when runs take no lock."""
        if not settings.getbool("MIRROR_RUN_LOCK"):
            return None
        return cls(settings.get("MIRROR_DIR"))

    # -- taking it ----------------------------------------------------------
    def acquire(self, command: str | None = None) -> RunLock:
        """Take the lock or raise :class:`MirrorLocked`, naming its holder."""
        if self._inherit():
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            # A few tries: `scrapy status` looks at the lock for an instant.
            for attempt in range(5):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if attempt == 4 or _read_holder(fd) is not None:
                        raise
                    time.sleep(0.02)
        except OSError as e:
            holder = _read_holder(fd, patient=True)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise MirrorLocked(self.path, holder) from None
            raise
        previous = _read_holder(fd)
        if previous is not None:
            # A clean release empties the file: this holder ended without one.
            self.took_over = previous
            logger.warning(
                "Taking over the run lock %s left by %s, which ended without releasing it",
                self.path,
                previous.describe(),
            )
        me = Holder(
            os.getpid(), socket.gethostname(), command or command_line(),
            datetime.now().astimezone().isoformat(timespec="seconds"),
        )  # fmt: skip
        data = me.dumps().encode("utf-8")
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        self.fd = fd
        return self

    def _inherit(self) -> bool:
        """Use the lock a scheduler handed down, if it is this mirror's."""
        value = os.environ.pop(INHERIT_ENV, "")
        if not value.isdigit():
            return False
        fd = int(value)
        try:
            mine, ours = os.fstat(fd), os.stat(self.path)
            if (mine.st_dev, mine.st_ino) != (ours.st_dev, ours.st_ino):
                return False
            # Our open file holds it already: flock on it again succeeds.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        os.set_inheritable(fd, False)
        self.fd, self.inherited = fd, True
        return True

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if not self.inherited:  # the scheduler that handed it down still holds it
            try:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire() if self.fd is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- looking at it ------------------------------------------------------
    def holder(self) -> Holder | None:
        """Who holds the lock now (None: nobody), without creating anything."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd, patient=True) or Holder(0, "?", "?", "?")
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _read_holder(fd: int, patient: bool = False) -> Holder | None:
    """The holder the lock file names; ``patient`` waits a moment for a new
    holder to write itself in."""
    for _ in range(10 if patient else 1):
        holder = Holder.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        if holder is not None or not patient:
            return holder
        time.sleep(0.02)
    return None


@contextmanager
def run_lock(settings: BaseSettings, name: str) -> Iterator[RunLock | None]:
    """Hold the settings' mirror lock for the ``with`` body of command ``name``
    (nothing if runs take none); raises :class:`MirrorLocked` before the body
    when another run has it."""
    lock = RunLock.from_settings(settings)
    if lock is None:
        yield None
        return
    lock.acquire(command_line(name))
    try:
        yield lock
    finally:
        lock.release()
