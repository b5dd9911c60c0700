"""How fast ``scrapy verify`` checks a large mirror.

Writes a mirror of N posts (default 100 000; 80% in ``_posts/``, 20% in
``old_post/``) with the archive's own writer, bodies cleaned by the crawler's
cleaner from the replica's generated articles and the seed, over 12
categories; then runs ``scrapy verify`` on it as a user would, with one
process and with one per CPU, and prints the seconds and posts per second.

    python bench/verify_100k.py [--posts 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.cleaning.cleaner import BodyCleaner  # noqa: E402
from crawler.cleaning.eastmoney import RULES as EASTMONEY  # noqa: E402
from crawler.mirror.archive import (  # noqa: E402
    CATEGORY_DIR,
    OLD_POSTS_DIR,
    POSTS_DIR,
    Post,
    category_page,
    render,
    write_atomic,
)
from replica.content import make_body, read_seed_body  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
OUTLETS = [
    ("kunmingribao", "昆明日报"), ("chunchengwanbao", "春城晚报"), ("yunnanribao", "云南日报"),
    ("yunnanwang", "云南网"), ("dalidaily", "大理日报"), ("qujingribao", "曲靖日报"),
    ("yuxiribao", "玉溪日报"), ("hongheribao", "红河日报"), ("zhaotongribao", "昭通日报"),
    ("baoshanribao", "保山日报"), ("21shijijingjibaodao", "21世纪经济报道"), ("xinhua", "新华社"),
]  # fmt: skip
WORDS = [
    "昆明", "曲靖", "玉溪", "高原特色农业", "医保服务", "招商引资", "中老铁路", "营商环境",
    "提质增效", "按下“快进键”", "出台实施方案",
]  # fmt: skip


def make_mirror(root: Path, posts: int) -> None:
    cleaner = BodyCleaner(rules=EASTMONEY)
    bodies = [
        cleaner.clean(
            make_body("kunmingribao", n, f"NWBENCH{n:08d}", "昆明日报", False), "http://h/"
        )
        for n in range(400)
    ] + [cleaner.clean(read_seed_body(), "http://h/")] * 20
    rng = random.Random(1)
    start = datetime(2020, 1, 1, tzinfo=TZ)
    for category, outlet in OUTLETS:
        write_atomic(root / CATEGORY_DIR / f"{category}.html", category_page(outlet, category))
    for folder in (POSTS_DIR, OLD_POSTS_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)
    old = posts // 5
    for n in range(posts):
        category, outlet = OUTLETS[n % len(OUTLETS)]
        post = Post(
            info_code=f"NW{n:018d}",
            title="".join(rng.sample(WORDS, 3)),
            date=start + timedelta(minutes=17 * n),
            category=category,
            outlet=outlet,
            body=rng.choice(bodies),
            share_url=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{n:018d}",
        )
        folder = OLD_POSTS_DIR if n < old else POSTS_DIR
        # Plain writes: the bench measures verify, not the writer's fsync-free renames.
        with open(root / folder / post.filename, "w", encoding="utf-8", newline="\n") as f:
            f.write(render(post, "//finews.withounder.com"))


def verify(root: Path, jobs: int) -> tuple[float, float, str]:
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "verify", "-s", f"MIRROR_DIR={root}", "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root.parent,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(
            f"verify failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return elapsed, cpu, proc.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--keep", metavar="DIR", help="build the mirror in DIR and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp) / "mirror"
        if not (root / POSTS_DIR).is_dir():
            started = time.monotonic()
            make_mirror(root, args.posts)
            print(f"wrote {args.posts} posts in {time.monotonic() - started:.1f}s to {root}")
        size = sum(
            f.stat().st_size for d in (POSTS_DIR, OLD_POSTS_DIR) for f in (root / d).iterdir()
        )
        print(f"mirror: {args.posts} posts, {size / 1e6:.0f} MB; {os.cpu_count()} CPUs")
        for jobs in (1, os.cpu_count() or 1):
            load = os.getloadavg()[0]
            elapsed, cpu, line = verify(root, jobs)
            print(
                f"scrapy verify --jobs {jobs}: {elapsed:.1f}s wall ({args.posts / elapsed:,.0f} "
                f"posts/s), {cpu:.1f}s CPU ({args.posts / cpu:,.0f} posts per CPU-second), "
                f"load average before {load:.1f}  [{line}]"
            )


if __name__ == "__main__":
    main()
