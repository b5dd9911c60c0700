#!/usr/bin/env python
"""What ``MIRROR_FSYNC`` costs a post: ``python bench/fsync.py [FOLDER ...]``.

Writes the same 3 KB post ``--posts`` times with
:func:`crawler.mirror.archive.write_atomic`, durable (file and folder flushed, the
default) and not, in each folder given (default: a folder under ``bench/``,
on this project's disk, and one in ``/dev/shm``), and prints the time per
post of each and their ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.mirror.archive import write_atomic


def per_post(folder: Path, posts: int, durable: bool) -> float:
    work = Path(tempfile.mkdtemp(dir=folder))
    try:
        text = "x" * 3000
        start = time.perf_counter()
        for i in range(posts):
            write_atomic(work / "_posts" / f"2026-01-01-B{i}.md", text, durable)
        return (time.perf_counter() - start) / posts
    finally:
        shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--posts", type=int, default=500)
    opts = parser.parse_args()
    folders = opts.folders or [Path(__file__).resolve().parent, Path("/dev/shm")]
    print(f"{'folder':<30} {'durable µs':>11} {'not µs':>8} {'ratio':>6}")
    for folder in folders:
        durable = per_post(folder, opts.posts, True)
        plain = per_post(folder, opts.posts, False)
        print(f"{folder!s:<30} {durable * 1e6:>11.0f} {plain * 1e6:>8.0f} {durable / plain:>6.1f}")


if __name__ == "__main__":
    main()
