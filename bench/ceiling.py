"""The replica's own ceiling: how many share pages a trivial client gets per second.

``connections`` threads, each on one keep-alive :mod:`http.client`
connection, fetch share pages (the infoCodes in CODES_FILE, in turn: the
pages a crawl fetches) and only read the bytes. Run as ``python -m
bench.ceiling URL CODES_FILE CONNECTIONS REQUESTS``; prints one JSON line.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from replica.site import SHARE_PATH


def hammer(base: str, codes: list[str], connections: int, requests: int) -> dict[str, float]:
    host = urlsplit(base).netloc
    lock = threading.Lock()
    counter = iter(range(requests))
    done = [0]
    failed = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(host, timeout=30)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            conn.request("GET", f"{SHARE_PATH}?infoCode={codes[n % len(codes)]}")
            response = conn.getresponse()
            response.read()
            with lock:
                done[0] += 1
                failed[0] += response.status != 200
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"requests": done[0], "failed": failed[0], "wall_s": round(wall, 3),
            "per_s": round(done[0] / wall, 1), "connections": connections}  # fmt: skip


def main(argv: list[str]) -> int:
    base, codes_file, connections, requests = argv[0], argv[1], int(argv[2]), int(argv[3])
    codes = Path(codes_file).read_text().split()
    print(json.dumps(hammer(base, codes, connections, requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
