"""The fleet's Redis: the client, the names of its keys, its URL fit to print."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings

# What a lost or restarting Redis raises (redis-py's own and the socket's).
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


class FleetUnavailable(RuntimeError):
    """Redis cannot be reached, or lost the fleet's state; the message names the URL."""


def safe_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable REDIS_URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def client_from_settings(settings: BaseSettings) -> redis.Redis:
    """A client for ``REDIS_URL``: short timeouts, a few retries over a restart."""
    return redis.Redis.from_url(
        settings.get("REDIS_URL"),
        socket_timeout=settings.getfloat("FLEET_REDIS_TIMEOUT"),
        socket_connect_timeout=settings.getfloat("FLEET_REDIS_TIMEOUT"),
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
        client_name="news-mirror",
    )


def unreachable(settings: BaseSettings) -> str | None:
    """Why ``REDIS_URL`` cannot be used now (one line, the password masked), or None."""
    client = client_from_settings(settings)
    try:
        client.ping()
    except REDIS_ERRORS as e:
        return f"Redis at {safe_url(settings.get('REDIS_URL'))} is unreachable ({e})"
    finally:
        client.close()
    return None


class FleetLost(IgnoreRequest):
    """A request not downloaded because the fleet lost Redis (said once already)."""

    kind = "redis_unavailable"  # its error kind in the feed summary


@dataclass(frozen=True)
class Keys:
    """Every key the fleet keeps in Redis, under one prefix (``FLEET_KEY_PREFIX``).

    Lua scripts build a few of them from the prefix too (a worker's liveness,
    a feed's run): the fleet needs a standalone Redis, not a Redis Cluster.
    """

    prefix: str

    # workers
    @property
    def workers(self) -> str:  # hash: worker id -> JSON about it
        return f"{self.prefix}:workers"

    def alive(self, worker: str) -> str:  # expires when the worker stops beating
        return f"{self.prefix}:alive:{worker}"

    def held(self, worker: str) -> str:  # hash: "{feed}|{seq}" -> request it works on
        return f"{self.prefix}:held:{worker}"

    @property
    def seq(self) -> str:
        return f"{self.prefix}:seq"

    # feeds (one Scrapy spider each)
    def feed(self, feed: str, what: str) -> str:
        return f"{self.prefix}:feed:{feed}:{what}"

    @property
    def queue_template(self) -> str:  # scrapy-redis's SCHEDULER_QUEUE_KEY
        return f"{self.prefix}:feed:%(spider)s:requests"

    @property
    def dupefilter_template(self) -> str:  # scrapy-redis's SCHEDULER_DUPEFILTER_KEY
        return f"{self.prefix}:feed:%(spider)s:dupefilter"

    # the dedup store (SPEC §4)
    @property
    def mirrored(self) -> str:  # set of infoCodes
        return f"{self.prefix}:mirrored"

    @property
    def dropped(self) -> str:  # hash: infoCode -> when it was dropped as bad
        return f"{self.prefix}:dropped"

    @property
    def claims(self) -> str:  # hash: infoCode -> worker id, or "q:{feed}" while queued
        return f"{self.prefix}:claims"

    @property
    def epoch(self) -> str:  # set once the mirror's posts are known in Redis
        return f"{self.prefix}:epoch"

    # posts handed to the writer on the mirror host
    @property
    def posts(self) -> str:
        return f"{self.prefix}:posts"

    @property
    def writing(self) -> str:
        return f"{self.prefix}:posts:writing"

    @property
    def writers(self) -> str:  # hash: writer id -> JSON about it
        return f"{self.prefix}:writers"

    # politeness
    def leases(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:leases"

    def next_start(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"
