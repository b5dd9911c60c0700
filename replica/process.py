"""The replica as its own process: how the tests and benchmarks start it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import urlopen

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ReplicaProcess:
    """``python -m replica`` on a free loopback port; ``url`` is where it serves."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 10):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "replica", "--port", "0", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("Replica serving at "):
            self.stop()
            raise RuntimeError(f"the replica did not start: {line!r}")
        self.url = line.split()[-1].rstrip("/")

    def get(self, path: str) -> Any:
        with urlopen(f"{self.url}{path}", timeout=self.timeout) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        return self.get("/_replica/stats")

    def reset(self) -> None:
        self.get("/_replica/reset")

    def publish(self, feed: str, n: int) -> list[str]:
        return self.get(f"/_replica/publish?feed={feed}&n={n}")

    def revise(
        self, info_code: str, title: str | None = None, body: str | None = None, gone: bool = False
    ) -> None:
        """Change the article's title and/or body from now on (a correction),
        or take it down (``gone``: answered 404 from now on)."""
        given = {"title": title, "body": body, "gone": "1" if gone else None}
        query = urlencode({"infoCode": info_code, **{k: v for k, v in given.items() if v}})
        self.get(f"/_replica/revise?{query}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> ReplicaProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
