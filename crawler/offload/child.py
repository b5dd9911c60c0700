"""A worker process: ``python -m crawler.offload.child FD``, started by
:class:`~crawler.offload.pool.WorkerPool` with one end of a socket pair as ``FD``.

Messages are pickles, each after its length (:data:`HEADER`), on a socket
only its parent holds the other end of:

- in: ``("feed", key, feed)`` once per feed, then ``("job", id, name, key, args)``;
- out: ``("ready",)`` once imported, then ``("ok", id, result)`` or
  ``("error", id, exception)`` for each job, in order.

A thread reads what comes in as it comes, so that the parent never waits to
send while this process is busy sending it results. The process ends when
its parent closes the socket (or dies); it runs in a session of its own, so
a terminal's Ctrl-C is its parent's to handle. A job done after its parent
died (killed with ``SIGKILL``, say) is undone (:meth:`Jobs.unanswered`): the
post a job staged would otherwise appear after the next crawl swept the
dead crawl's temporary files.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from crawler.offload.jobs import Jobs

HEADER = struct.Struct("!I")  # a message's length, before it


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def outcome(jobs: Jobs, name: str, feed: Any, args: tuple[Any, ...]) -> tuple[str, Any]:
    """``("ok", result)`` of the job, or ``("error", exception)`` it raised."""
    try:
        if name not in jobs.NAMES:
            raise LookupError(f"no job named {name!r}")
        return "ok", getattr(jobs, name)(feed, *args)
    except Exception as e:
        return "error", e


def answer(jid: int, done: tuple[str, Any]) -> bytes:
    """The answer to job ``jid``, from its :func:`outcome`."""
    try:
        return frame((done[0], jid, done[1]))
    except Exception as e:
        if done[0] == "ok":
            return answer(jid, ("error", e))
        # an exception that does not pickle: its words do
        return frame(("error", jid, RuntimeError(f"{type(done[1]).__name__}: {done[1]}")))


def read_all(stream: BinaryIO, inbox: queue.SimpleQueue[bytes | None]) -> None:
    """Put each message read from ``stream`` in ``inbox``, then None when it ends."""
    try:
        while len(head := stream.read(HEADER.size)) == HEADER.size:
            (size,) = HEADER.unpack(head)
            inbox.put(stream.read(size))
    except OSError:
        pass
    inbox.put(None)


def received(inbox: queue.SimpleQueue[bytes | None]) -> Iterator[Any]:
    while (data := inbox.get()) is not None:
        yield pickle.loads(data)


def serve(sock: socket.socket, jobs: Jobs) -> None:
    feeds: dict[str, Any] = {}
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    stream = sock.makefile("rb")
    threading.Thread(target=read_all, args=(stream, inbox), daemon=True).start()
    sock.sendall(frame(("ready",)))
    for message in received(inbox):
        if message[0] == "feed":
            feeds[message[1]] = message[2]
        else:
            _, jid, name, key, args = message
            done = outcome(jobs, name, feeds.get(key), args)
            try:
                sock.sendall(answer(jid, done))
            except OSError:  # the parent died: what it cannot take is undone
                if done[0] == "ok":
                    jobs.unanswered(name, done[1])
                raise


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    try:
        from crawler.offload.jobs import Jobs  # what a job needs: lxml, nh3, parsel
    except Exception as e:  # a broken install: said in one line; the crawl does the jobs
        print(f"error: a worker process cannot start: {type(e).__name__}: {e}", file=sys.stderr)
        os._exit(1)
    with contextlib.suppress(OSError):  # the parent is gone: nothing is left to answer
        serve(sock, Jobs())
    # Nothing to flush or close: skip the interpreter's teardown, which the
    # crawl would otherwise wait for at its end.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
