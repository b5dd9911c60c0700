"""The ticks of ``scrapy schedule`` in a fleet: on the wall clock, the same for every host.

Each schedule process of a fleet starts its runs at the multiples of
``--every`` since the epoch, and tells its ``crawlall`` which tick it is
(``FLEET_TICK``). The first worker to open a feed in a tick starts the run of
that feed; the others join it while it lasts, and none starts another for the
same tick (:data:`crawler.fleet.scripts.JOIN`): each tick is enqueued once,
and worked off by all.
"""

from __future__ import annotations

import math
import time


def delay_to_next_tick(every: float, now: float | None = None) -> float:
    """Seconds from ``now`` to the next multiple of ``every`` (0 at one)."""
    now = time.time() if now is None else now
    return max(0.0, math.ceil(now / every) * every - now)


def tick_of(every: float, now: float | None = None) -> str:
    """The tick a run started at ``now`` belongs to (the nearest multiple)."""
    now = time.time() if now is None else now
    return str(round(now / every))
