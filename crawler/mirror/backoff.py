"""Back-off of failing feeds in scheduled runs, kept in ``.mirror/backoff.json``.

A feed that failed outright (:func:`crawler.extensions.summary.feed_summary`)
in ``k`` scheduled runs in a row sits out the next ``2**(k-1) - 1`` runs
(0, 1, 3, 7, …), at most as many runs as fit in ``MIRROR_BACKOFF_MAX``
seconds; the other feeds run as usual. One run that succeeds clears it. The
state is a file beside the mirror, so a restarted scheduler goes on where the
last one stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crawler.mirror.archive import write_atomic
from crawler.mirror.paths import BACKOFF_FILE, STATE_DIR
from crawler.mirror.runlog import timestamp
from crawler.text import plural

logger = logging.getLogger(__name__)


class FeedBackoff:
    """Which feeds sit out the next scheduled run, and for how many more."""

    def __init__(self, mirror_dir: str | Path, max_skip: int):
        self.path = Path(mirror_dir) / STATE_DIR / BACKOFF_FILE
        self.max_skip = max(0, max_skip)

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError):
            logger.warning("Back-off state %s is damaged: starting afresh", self.path)
            return {}
        return {
            str(k): v for k, v in data.items()
            if isinstance(v, dict) and isinstance(v.get("failures"), int)
        } if isinstance(data, dict) else {}  # fmt: skip

    def save(self, state: dict[str, dict[str, Any]]) -> None:
        if not state and not self.path.exists():
            return
        write_atomic(self.path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))

    def plan(self, names: Iterable[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """The feeds of ``names`` to crawl in this run, and those sitting it out
        (each counted as one run sat out)."""
        state = self.load()
        run, skipped = [], {}
        for name in names:
            entry = state.get(name)
            if entry and entry.get("skip", 0) > 0:
                entry["skip"] -= 1
                skipped[name] = entry
            else:
                run.append(name)
        if skipped:
            self.save(state)
        return run, skipped

    def record(self, feeds: dict[str, dict[str, Any]]) -> None:
        """Count a run's outcome per feed (a run record's ``feeds``)."""
        state = self.load()
        changed = False
        for name, outcome in feeds.items():
            if outcome.get("failed"):
                entry = state.setdefault(name, {"failures": 0, "since": timestamp()})
                entry["failures"] += 1
                entry["skip"] = min(2 ** (entry["failures"] - 1) - 1, self.max_skip)
                entry["error"] = outcome["failed"]
                changed = True
                logger.warning(
                    "Feed %s failed %s in a row (%s): it sits out the next %s",
                    name,
                    plural(entry["failures"], "run"),
                    outcome["failed"],
                    plural(entry["skip"], "run"),
                )
            elif name in state:
                logger.info(
                    "Feed %s works again after %d failed runs", name, state[name]["failures"]
                )
                del state[name]
                changed = True
        if changed:
            self.save(state)
