"""Whether this tree's body cleaner gives what a baseline commit's gives, body for body.

    python bench/cleaner_same.py --baseline 87103bc [--fragments 20000] [--seed 1]

A change made for speed must not change a post: this cleans the same bodies
with the baseline's cleaner and with this tree's, and compares the cleaned
HTML and the ``drop`` selectors each records as fired (``scrapy rebuild``
names them). The bodies: the real ones the tests keep (``tests/data``), the
replica's generated articles (2,000), the OWASP XSS vectors, and
``--fragments`` random fragments built from the markup the cleaner treats
apart (blocks and inline elements nested five deep, void elements, comments,
eastmoney's chart block and widgets, hidden elements, indentation, line
breaks, Liquid). Each is cleaned three ways: with no source rules, with the
shipped eastmoney rules, and with those and two ``drop`` selectors. The
baseline's ``crawler`` package is exported with ``git archive`` and imported
as ``baseline_crawler``, as ``bench/pipeline_cpu.py`` does. Exits 1 if any
body differs, naming the first few.
"""

from __future__ import annotations

import argparse
import importlib
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import PROJECT_ROOT
from bench.pipeline_cpu import BASELINE_PACKAGE, export_baseline
from replica.content import make_body
from replica.hostile import xss_vectors

BASE_URL = "http://finance.eastmoney.com/a/202112082205123456.html"
DROP = ("section", ".x")

_TAGS = (
    "p", "div", "span", "strong", "b", "em", "a", "pre", "font", "center", "h2",
    "blockquote", "section", "table", "td", "tr", "li", "ul", "code", "small",
    "label", "figure",
)  # fmt: skip
_VOID = ("br", "img", "hr", "input", "meta")
_TEXTS = (
    "", " ", "\n", "\u3000\u3000", "  text ", "东方财富开户>>", "新闻\n内容", "\t\n  ",
    "a\r\nb", "\u3000正文", "{{ x }}", "<", "&amp;", "东方财富APP下载",
)  # fmt: skip
_ATTRS = (
    "", ' class="em_media"', ' class="keytip"', ' id="stock_1"', ' id="quote_2"',
    ' class="EmImageRemark"', ' style="display: none"', " hidden", ' style="color:red"',
    ' class="x toplink"', ' href="javascript:alert(1)"', ' href="/rel"',
    ' class="em_handle_adv_close"', ' id="Info.3"', ' src="data:image/png;base64,AA"',
)  # fmt: skip
_MARKS = (
    "<!-- c -->", "<!-- EM_StockImg_Start -->", "<!-- EM_StockImg_End -->",
    "<script>x()</script>", "<style>p{}</style>", "<?php x ?>",
)  # fmt: skip


def fragment(rng: random.Random, depth: int = 0) -> str:
    """A random body fragment, nested at most five deep."""
    out = []
    for _ in range(rng.randint(0, 4)):
        r = rng.random()
        if r < 0.3:
            out.append(rng.choice(_TEXTS))
        elif r < 0.4:
            out.append(f"<{rng.choice(_VOID)}{rng.choice(_ATTRS)}>")
        elif r < 0.45:
            out.append(rng.choice(_MARKS))
        elif depth < 5:
            tag = rng.choice(_TAGS)
            out.append(f"<{tag}{rng.choice(_ATTRS)}>{fragment(rng, depth + 1)}</{tag}>")
    return "".join(out)


def bodies(fragments: int, seed: int) -> Iterator[tuple[str, str]]:
    """(where it comes from, raw body)."""
    for path in sorted((PROJECT_ROOT / "tests" / "data").rglob("*.html")):
        yield str(path.relative_to(PROJECT_ROOT)), path.read_text("utf-8")
    for serial in range(2000):
        code = f"NWKMRB{serial:08d}"
        yield f"replica body {serial}", make_body("kunmingribao", serial, code, "昆明日报", False)
    for k, vector in enumerate(xss_vectors()):
        yield f"XSS vector {k + 1}", vector
    rng = random.Random(seed)
    for k in range(fragments):
        yield f"fragment {k} (seed {seed})", fragment(rng)


def cleaners(package: str) -> list[Any]:
    """The package's cleaner with no rules, the eastmoney rules, and those with ``DROP``."""
    cleaner = importlib.import_module(f"{package}.cleaning.cleaner")
    generic = importlib.import_module(f"{package}.cleaning.rules").GENERIC
    eastmoney = importlib.import_module(f"{package}.cleaning.eastmoney").RULES
    return [
        cleaner.BodyCleaner((), generic),
        cleaner.BodyCleaner((), eastmoney),
        cleaner.BodyCleaner(DROP, eastmoney),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/cleaner_same.py", description=__doc__.split("\n")[0]
    )
    p.add_argument("--baseline", required=True, help="the commit to compare with")
    p.add_argument("--fragments", type=int, default=20000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cleaner-same-"))
    try:
        export_baseline(args.baseline, work / "baseline")
        sys.path.insert(0, str(work / "baseline"))
        ways = list(zip(cleaners(BASELINE_PACKAGE), cleaners("crawler"), strict=True))
        compared = differ = 0
        for source, body in bodies(args.fragments, args.seed):
            for way, (old, new) in enumerate(ways):
                old_fired: set[str] = set()
                new_fired: set[str] = set()
                expected = old.clean(body, BASE_URL, old_fired)
                got = new.clean(body, BASE_URL, new_fired)
                compared += 1
                if expected != got or old_fired != new_fired:
                    differ += 1
                    if differ <= 5:
                        print(f"differs: {source}, cleaner {way + 1}\n  body: {body[:300]!r}")
                        print(f"  baseline: {expected[:300]!r} {sorted(old_fired)}")
                        print(f"  this tree: {got[:300]!r} {sorted(new_fired)}")
        print(
            f"{compared} cleanings ({compared // len(ways)} bodies, {len(ways)} cleaners): "
            f"{differ} differ from baseline {args.baseline}'s"
        )
        return 1 if differ else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
