"""Search recall, index size and build time of ``scrapy site`` at 1,000 and 10,000 posts.

    python -m bench.search_recall                 # 1000 and 10000 posts
    python -m bench.search_recall --sizes 1000 --queries 300

Each size is a mirror of news-like posts (:func:`make_news_mirror`: outlets,
companies, people, places, numbers and mixed Chinese/Latin terms such as
``A股``, ``5G``, ``21世纪``, ``H股``, ``AI``), built with
:func:`crawler.ops.site.build_site` (category pages split, ``jekyll build``,
the Pagefind index), then searched in headless Chromium through the site's
own Pagefind bundle, as the search page does.

The queries are drawn from the posts' titles and bodies: 2-4 Chinese
characters (a company, a person, a place and company) and mixed terms (a
company with ``A股``/``5G``/``21世纪``…, ``5G基站``-like compounds). A query
counts when its post is on the first page of results (10); only queries that
match at most 10 posts in the corpus (by plain substring search of each term,
the ground truth) are drawn, since a query shared by more posts cannot put
one given post on the first page. Printed: recall per kind and overall,
the misses, the index size and the time of each step.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from crawler.mirror.archive import Post, category_page, render, write_atomic
from crawler.mirror.jekyll import JekyllSite
from crawler.ops.site import build_site
from replica.content import TZ

PAGE = 10

OUTLETS = (
    ("昆明日报", "kunmingribao"), ("春城晚报", "chunchengwanbao"), ("云南日报", "yunnanribao"),
    ("重庆日报", "zhongqingribao"), ("厦门日报", "shamenribao"), ("长江日报", "changjiangribao"),
    ("中国证券报", "zhongguozhengquanbao"), ("证券时报", "zhengquanshibao"),
    ("21世纪经济报道", "21shijijingjibaodao"), ("财联社", "cailianshe"),
)  # fmt: skip
# Characters company, person and product names are made of (common in real ones).
NAME_CHARS = (
    "华鑫源恒远泰达丰盛嘉信宏安博瑞海天润康德隆昌辰星宇创新科联兴旺通汇金银凯翔凌云启明"
    "正阳光辉东方南北中兴长城江河湖山川峰林森晨曦锦绣祥和智慧明诚实业永福佳美欣荣耀"
)
SUFFIXES = ("科技", "股份", "集团", "控股", "电子", "医药", "能源", "材料", "银行", "证券")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国志红玉兰春晓晨宇浩然子轩欣怡"
PLACES = (
    "昆明", "大理", "丽江", "曲靖", "玉溪", "红河", "西双版纳", "重庆", "成都", "贵阳",
    "厦门", "福州", "泉州", "武汉", "宜昌", "襄阳", "上海", "深圳", "杭州", "南京",
    "苏州", "合肥", "长沙", "南宁", "海口", "西安", "兰州", "郑州", "济南", "青岛",
)  # fmt: skip
MIXED = ("A股", "H股", "5G", "21世纪", "AI", "6G", "3D打印", "B股", "ETF", "IPO", "GDP", "CPI")
EVENTS = (
    "发布年度业绩预告", "拟定增募资扩产", "获机构密集调研", "签署战略合作协议", "回购股份计划落地",
    "新产线投产", "中标重大项目", "股东增持", "研发投入创新高", "海外订单大增",
    "入选专精特新名单", "召开股东大会", "分红方案出炉", "董事长变更", "获批新药临床",
)  # fmt: skip
SENTENCES = (
    "{company}公告称，公司{event}，预计全年营业收入增长{n}%。",
    "记者从{place}市获悉，{company}在当地的{mixed}项目已于{month}月开工。",
    "{person}表示，{mixed}相关业务将成为{company}新的增长点。",
    "截至收盘，{company}股价上涨{d}%，成交额{n}亿元。",
    "据{outlet}报道，{place}今年前{month}个月{mixed}产业规模同比增长{n}%。",
    "分析人士{person}认为，{mixed}板块短期仍有波动，长期看好。",
    "{company}董事会秘书{person}介绍，公司已在{place}设立研发中心。",
    "数据显示，{place}地区生产总值同比增长{d}%，高于全国平均水平。",
)


def _name(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(NAME_CHARS) for _ in range(length))


@dataclass
class NewsPost:
    post: Post
    company: str  # e.g. 鑫源科技 (the first two characters: its short name)
    person: str
    place: str
    mixed: str


def news_posts(size: int, seed: int = 17, now: datetime | None = None) -> list[NewsPost]:
    """``size`` news-like posts, newest first, one every 3 minutes back from ``now``."""
    rng = random.Random(seed)
    # Jekyll leaves out posts dated in the future: the newest is a minute old.
    now = now or datetime.now(TZ).replace(microsecond=0) - timedelta(minutes=1)
    made: list[NewsPost] = []
    for i in range(size):
        outlet, category = OUTLETS[i % len(OUTLETS)]
        company = _name(rng, 2) + rng.choice(SUFFIXES)
        person = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        place, mixed = rng.choice(PLACES), rng.choice(MIXED)
        slots = {
            "company": company,
            "event": rng.choice(EVENTS),
            "person": person,
            "place": place,
            "mixed": mixed,
            "outlet": outlet,
            "n": rng.randint(2, 95),
            "d": f"{rng.uniform(0.1, 9.9):.1f}",
            "month": rng.randint(1, 11),
        }
        sentences = rng.sample(SENTENCES, 5)
        body = "".join(f"<p>{s.format(**slots)}</p>" for s in sentences)
        body += f'<p class="em_media">（文章来源：{outlet}）</p>'
        code = f"NWSEARCH{i:08d}"
        post = Post(
            info_code=code,
            title=f"{company}{slots['event']}",
            date=now - timedelta(minutes=3 * i),
            category=category,
            outlet=outlet,
            body=body,
            share_url=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={code}",
        )
        made.append(NewsPost(post, company, person, place, mixed))
    return made


def make_news_mirror(root: Path, posts: list[NewsPost]) -> None:
    """A mirror of ``posts`` in ``root``, with the site's files as a crawl installs them."""
    for item in posts:
        post = item.post
        write_atomic(root / "_posts" / post.filename, render(post, ""))
    for outlet, category in OUTLETS:
        write_atomic(root / "category" / f"{category}.html", category_page(outlet, category))
    JekyllSite(root, title="新闻镜像").install()


def post_text(post: Post) -> str:
    return post.title + "\n" + post.body


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    code: str  # the post it is drawn from


def draw_queries(posts: list[NewsPost], count: int, seed: int = 3) -> list[Query]:
    """``count`` queries, a quarter of each kind, that match at most ``PAGE`` posts."""
    rng = random.Random(seed)
    texts = [post_text(p.post) for p in posts]

    def matches(query: str) -> int:
        terms = query.split()
        return sum(all(t in text for t in terms) for text in texts)

    def candidates(item: NewsPost) -> Iterator[Query]:
        code = item.post.info_code
        short = item.company[:2]
        yield Query("2 characters", short, code)
        yield Query("3-4 characters", item.company, code)
        yield Query("3-4 characters", item.person if len(item.person) >= 3 else item.company, code)
        yield Query("mixed", f"{short} {item.mixed}", code)
        yield Query("mixed", f"{item.company} {item.mixed}", code)

    found: dict[str, list[Query]] = {}
    order = list(posts)
    rng.shuffle(order)
    for item in order:
        for query in candidates(item):
            kind = found.setdefault(query.kind, [])
            want = count // 2 if query.kind == "mixed" else count // 4
            if len(kind) < want and matches(query.text) <= PAGE:
                kind.append(query)
        if sum(map(len, found.values())) >= count:
            break
    return [q for kind in found.values() for q in kind]


SEARCH_JS = """
(async (queries, size) => {
  const out = [];
  for (const q of queries) {
    const results = await window.mirrorSearch(q);  // as the search page finds them
    const data = await Promise.all(results.slice(0, size).map((r) => r.data()));
    out.push({q, total: results.length, urls: data.map((d) => d.url)});
  }
  return out;
})
"""


def search_in_chromium(site: Path, queries: list[Query], profile: Path) -> list[dict]:
    from bench.chromium import Chromium

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
         str(site), "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    port = server.stdout.readline().split("port ")[1].split()[0]
    browser = Chromium(chromium, profile)
    try:
        browser.open(f"http://127.0.0.1:{port}/search/")
        browser.wait_for("typeof window.mirrorSearch === 'function'")
        texts = json.dumps([q.text for q in queries])
        return list(browser.evaluate(f"({SEARCH_JS})({texts}, {PAGE})"))
    finally:
        browser.close()
        server.terminate()
        server.wait(10)
        server.stdout.close()


def measure(size: int, count: int, work: Path) -> dict:
    root = work / f"mirror-{size}"
    posts = news_posts(size)
    make_news_mirror(root, posts)
    queries = draw_queries(posts, count)
    build = build_site(root)
    answers = search_in_chromium(build.output, queries, work / f"profile-{size}")
    by_kind: dict[str, list[int]] = {}
    misses = []
    for query, answer in zip(queries, answers, strict=True):
        hit = any(query.code in url for url in answer["urls"])
        by_kind.setdefault(query.kind, []).append(hit)
        if not hit:
            misses.append(f"{query.text} ({query.code}; {answer['total']} results)")
    hits = sum(sum(v) for v in by_kind.values())
    return {
        "posts": size,
        "queries": len(queries),
        "recall": hits / len(queries),
        "recall_by_kind": {k: sum(v) / len(v) for k, v in by_kind.items()},
        "jekyll_s": round(build.jekyll_seconds, 1),
        "jekyll_cpu_s": round(build.jekyll_cpu_seconds, 1),
        "index_s": round(build.index_seconds, 1),
        "index_cpu_s": round(build.index_cpu_seconds, 1),
        "index_mb": round(build.index_bytes / 1e6, 2),
        "indexed_pages": build.indexed,
        "category_pages_written": len(build.pages_written),
        "misses": misses[:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--keep", metavar="DIR", help="build the mirrors here and keep them")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="search-recall-"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.monotonic()
            result = measure(size, args.queries, work)
            result["total_s"] = round(time.monotonic() - started, 1)
            print(json.dumps(result, ensure_ascii=False, indent=1), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
