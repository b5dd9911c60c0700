"""What ``scrapy status`` shows of a fleet (``REDIS_URL``): read from Redis, nothing written."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy.settings import BaseSettings

from crawler.fleet.connection import REDIS_ERRORS, Keys, client_from_settings, safe_url


@dataclass
class Member:
    id: str
    info: dict[str, Any]
    alive: bool
    held: int = 0

    def line(self, now: float) -> str:
        info = self.info
        beat = now - float(info.get("beat") or 0)
        feeds = ", ".join(info.get("feeds") or []) or "-"
        text = (
            f"{self.id}: pid {info.get('pid')} on {info.get('host')}, "
            f"last heartbeat {beat:.1f} s ago"
        )
        if info.get("role", "worker") == "worker":
            text += f", holds {self.held} requests, feeds: {feeds}"
        return text if self.alive else f"{text} — NOT BEATING (its work is queued again)"


@dataclass
class FleetStatus:
    url: str
    prefix: str
    error: str = ""
    workers: list[Member] = field(default_factory=list)
    writers: list[Member] = field(default_factory=list)
    queued: dict[str, int] = field(default_factory=dict)
    runs: dict[str, dict[str, str]] = field(default_factory=dict)
    waiting: int = 0
    writing: int = 0
    mirrored: int = 0
    epoch: str = ""

    @property
    def problems(self) -> bool:
        """Redis cannot be reached (a silent worker is shown, not flagged: the
        others queue its work again)."""
        return bool(self.error)

    def render(self) -> str:
        head = f"Fleet at {self.url} (keys {self.prefix}:*)"
        if self.error:
            return f"{head}: UNREACHABLE: {self.error}"
        now = time.time()
        alive = sum(m.alive for m in self.workers)
        lines = [f"{head}:", f"  workers: {alive} alive" + (
            f", {len(self.workers) - alive} not beating" if alive < len(self.workers) else ""
        )]  # fmt: skip
        lines += [f"    {m.line(now)}" for m in self.workers]
        lines.append(f"  writers: {sum(m.alive for m in self.writers)} alive")
        lines += [f"    {m.line(now)}" for m in self.writers]
        total = sum(self.queued.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.queued.items()) if v)
        lines.append(f"  queue: {total} requests" + (f" ({detail})" if detail else ""))
        if self.runs:
            lines.append("  runs going on: " + ", ".join(
                f"{feed} (since {_clock(r.get('started'))})"
                for feed, r in sorted(self.runs.items())
            ))  # fmt: skip
        lines.append(
            f"  posts waiting to be written: {self.waiting}"
            + (f" (+{self.writing} being written)" if self.writing else "")
        )
        lines.append(
            f"  posts known as mirrored: {self.mirrored}"
            + ("" if self.epoch else " (the mirror's posts are not recorded yet)")
        )
        return "\n".join(lines)


def _clock(started: Any) -> str:
    """The local time of day a run's ``started`` (Unix seconds) names."""
    return time.strftime("%H:%M:%S", time.localtime(float(started or 0)))


def fleet_status(settings: BaseSettings) -> FleetStatus:
    """The fleet of ``REDIS_URL`` as Redis sees it now."""
    keys = Keys(settings.get("FLEET_KEY_PREFIX"))
    status = FleetStatus(safe_url(settings.get("REDIS_URL")), keys.prefix)
    try:
        client = client_from_settings(settings)
        with client:
            collect(client, keys, status)
    except REDIS_ERRORS as e:
        status.error = str(e)
    return status


def collect(client: Any, keys: Keys, status: FleetStatus) -> None:
    for registry, into in ((keys.workers, status.workers), (keys.writers, status.writers)):
        for raw_id, raw in sorted(client.hgetall(registry).items()):
            wid = raw_id.decode()
            try:
                info = json.loads(raw)
            except ValueError:
                info = {}
            member = Member(wid, info, bool(client.exists(keys.alive(wid))))
            if registry == keys.workers:
                member.held = sum(
                    1 for f in client.hkeys(keys.held(wid)) if not f.endswith(b"|start")
                )
            into.append(member)
    prefix = f"{keys.prefix}:feed:"
    for key in client.scan_iter(match=f"{prefix}*", count=200):
        name = key.decode()[len(prefix) :]
        feed, _, what = name.rpartition(":")
        if what == "requests":
            status.queued[feed] = int(client.zcard(key))
        elif what == "run":
            status.runs[feed] = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
    status.waiting = int(client.llen(keys.posts))
    status.writing = sum(
        int(client.llen(k)) for k in client.scan_iter(match=f"{keys.writing}:*", count=100)
    )
    status.mirrored = int(client.scard(keys.mirrored))
    status.epoch = (client.get(keys.epoch) or b"").decode()
