"""Watch a long-running ``scrapy`` process: its output, line by line, as it comes."""

from __future__ import annotations

import re
import subprocess
import threading
import time


class Watched:
    """Drains a process's stdout and stderr in threads; :meth:`wait_for` a line."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.lines: list[str] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._drain, args=(proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._drain, args=(proc.stderr, self.stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _drain(self, stream, into: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            with self._changed:
                into.append(line)
                self.lines.append(line)
                self._changed.notify_all()
        stream.close()

    def wait_for(self, pattern: str, timeout: float = 60, count: int = 1) -> str:
        """The ``count``-th line matching ``pattern``; AssertionError after ``timeout``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [x for x in self.lines if regex.search(x)]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._alive()):
                    raise AssertionError(
                        f"no line {pattern!r} (x{count}) in:\n{self.output[-6000:]}"
                    )
                self._changed.wait(min(left, 0.2))

    def _alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def finish(self, timeout: float = 120) -> int:
        """Wait for the process to end and its output to be read; its status."""
        status = self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(10)
        return status

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def out(self) -> str:
        return "".join(self.stdout)

    @property
    def err(self) -> str:
        return "".join(self.stderr)
