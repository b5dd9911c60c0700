"""``python -m replica``: serve the replica until SIGTERM or SIGINT.

The first line on stdout is ``Replica serving at http://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from types import FrameType

from crawler.source.catalog import default_catalog_path
from replica.feeds import write_replica_catalog
from replica.site import Replica


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m replica",
        description="Serve a replica of the news source on loopback.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    p.add_argument("--articles", type=int, default=40, help="articles per feed")
    p.add_argument("--per-page", type=int, default=10, help="articles per listing page")
    p.add_argument("--latency-ms", type=float, default=0, help="delay of every answer")
    p.add_argument("--no-faults", action="store_true", help="serve no bad items")
    p.add_argument(
        "--now", type=datetime.fromisoformat, default=None,
        help="ISO time the articles' dates count back from (default: now)",
    )  # fmt: skip
    p.add_argument("--catalog-out", metavar="PATH", help="write the replica's catalog here")
    p.add_argument(
        "--shipped-catalog-out", metavar="PATH",
        help="write the shipped catalog (the real source's endpoints) pointed at the replica here",
    )  # fmt: skip
    p.add_argument(
        "--finews", metavar="DIR",
        help="also serve the records and bodies the finews posts in DIR were made from",
    )  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.articles < 1 or args.per_page < 1 or args.latency_ms < 0:
        _parser().error("--articles and --per-page must be at least 1, --latency-ms >= 0")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    replica = Replica(
        articles=args.articles, per_page=args.per_page, latency_ms=args.latency_ms,
        faults=not args.no_faults, now=args.now, host=args.host, port=args.port,
        finews=args.finews,
    )  # fmt: skip
    try:
        url = replica.start()
        if args.catalog_out:
            write_replica_catalog(url, args.catalog_out)
        if args.shipped_catalog_out:
            write_replica_catalog(url, args.shipped_catalog_out, default_catalog_path())
        print(f"Replica serving at {url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        replica.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
