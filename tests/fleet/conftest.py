"""A real ``redis-server`` on a free loopback port, and fleet workers as real processes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST, Mirror, ReplicaServer
from tests.utils.cmdline import PROJECT_ROOT, scrapy_env
from tests.utils.watch import Watched

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PASSWORD = "fleet-secret-pw"
GRACE = 3  # s after a run during which a starting worker finds nothing to do
# Fast failure detection for tests: a killed worker is dead after 3 s.
QUICK = [
    "-s", "FLEET_HEARTBEAT_INTERVAL=0.5", "-s", "FLEET_WORKER_TIMEOUT=3",
    "-s", "FLEET_POLL_INTERVAL=0.1", "-s", f"FLEET_RUN_GRACE={GRACE}",
]  # fmt: skip
# Warnings show in a worker's log (Scrapy captures them): a deprecated call
# (scrapy-redis's, under Scrapy 2.19) is caught by the tests reading it.
DEPRECATED = ("DeprecationWarning", "ScrapyDeprecationWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on 127.0.0.1, no persistence, with a password."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    @property
    def safe_url(self) -> str:
        return f"redis://:***@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        # fmt: off
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--requirepass", PASSWORD,
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # fmt: on
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for each test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(scope="module")
def slow_replica() -> Iterator[ReplicaServer]:
    """A replica answering after 30 ms: a crawl lasts long enough to share."""
    server = ReplicaServer("--latency-ms", "30")
    yield server
    server.stop()


def wait_until_expired(redis_url: str, pattern: str, timeout: float = 30) -> None:
    """Wait for the keys matching ``pattern`` (of :class:`crawler.fleet.connection.Keys`)
    to expire: a worker's heartbeat, the grace after a run."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        deadline = time.monotonic() + timeout
        while next(client.scan_iter(match=pattern), None) is not None:
            assert time.monotonic() < deadline, f"keys {pattern} still there after {timeout} s"
            time.sleep(0.02)


def fleet_args(mirror: Mirror, redis_url: str, *extra: str) -> list[str]:
    return [
        "-s", f"MIRROR_DIR={mirror.dir}", "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
        "-s", f"REDIS_URL={redis_url}", *FAST, *QUICK, *extra,
    ]  # fmt: skip


def start_worker(
    mirror: Mirror, redis_url: str, *args: str, extra: tuple[str, ...] = ()
) -> Watched:
    """``scrapy ARGS`` as a worker of the fleet, its output watched."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrapy", *args, *fleet_args(mirror, redis_url, *extra)],
        cwd=mirror.root,
        env=scrapy_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Watched(proc)


def finish(worker: Watched, timeout: float = 180) -> int:
    """The worker's exit status, once it ended; no deprecation warning in its log."""
    status = worker.finish(timeout)
    for word in DEPRECATED:
        assert word not in worker.output, worker.output[-4000:]
    return status


__all__ = [
    "PROJECT_ROOT",
    "RedisServer",
    "finish",
    "fleet_args",
    "start_worker",
    "wait_until_expired",
]
