"""A walk down a feed's listing pages, fetched ahead, read in order (SPEC §2.1).

Listing pages form a chain: page *p + 1* is known only from the ``next``
link of page *p*, so a walk that fetches one page at a time costs one round
trip per page however many requests could run at once; on a backfill of
hundreds of pages that chain is the whole crawl. :class:`ListingWalk` lets a
spider fetch pages ahead when their URLs can be foreseen, without changing
what the walk reads:

* **Reading stays serial.** A page is read (its articles claimed, its next
  page decided) only after the page before it was read and named it, with
  the very URL it was fetched from. A page that arrives early is held; pages
  fetched ahead of a walk that stops are dropped unread. What a walk claims
  and where it stops are exactly those of the page-by-page walk.
* **URLs are foreseen only from the feed's own links.** When the URLs of two
  consecutive pages differ in one number, one apart (``list_3.html`` →
  ``list_4.html``, ``?page=1`` → ``?page=2``), the pages after them are
  guessed by counting on. Every guess is checked against the link the page
  before names; one wrong guess ends guessing for the walk, and the walk goes
  on page by page from the real link.
* **Only where the walk will likely go on, and only where it helps.** The
  spider asks for pages ahead only after a page whose oldest article was new
  (a backfill), or on a walk that pages on regardless (after a cut-short
  walk), and only while its scheduler runs short of requests (fewer than
  twice ``CONCURRENT_REQUESTS``): one page ahead at first, then 2, 4, … up to
  ``ahead`` while that lasts, and never past ``max_pages``. A re-crawl with
  nothing new still reads one page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_NUMBERS = re.compile(r"(\d+)")


class PageTemplate:
    """The URL of page *n*, from two consecutive pages' URLs differing in one number."""

    def __init__(self, parts: list[str], slot: int, page: int):
        self.parts = parts
        self.slot = slot  # index in parts of the number that counts pages
        self.page = page  # the page whose URL is ``parts`` as they are
        self.number = int(parts[slot])
        self.width = len(parts[slot]) if parts[slot].startswith("0") else 0

    @classmethod
    def learn(cls, url: str, next_url: str, page: int) -> PageTemplate | None:
        """The template if ``url`` (page ``page``) and ``next_url`` differ in one number, +1."""
        a, b = _NUMBERS.split(url), _NUMBERS.split(next_url)
        if len(a) != len(b):
            return None
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) != 1 or differ[0] % 2 == 0:  # odd indices hold the numbers
            return None
        slot = differ[0]
        if int(b[slot]) != int(a[slot]) + 1:
            return None
        return cls(b, slot, page + 1)

    def url(self, page: int) -> str:
        number = self.number + page - self.page
        parts = list(self.parts)
        parts[self.slot] = str(number).zfill(self.width)
        return "".join(parts)


class ListingWalk:
    """One chain of listing pages from one first URL."""

    def __init__(self, first_url: str, max_pages: int, ahead: int):
        self.max_pages = max_pages
        self.ahead = ahead  # pages fetched beyond the next one, at most
        self.urls: dict[int, str] = {1: first_url}  # page -> the URL asked for it
        self.named: set[int] = {1}  # pages whose URL the page before named
        self.held: dict[int, Any] = {}  # page -> its response (or failure), not read yet
        self.expected = 1  # the next page to read
        self.followed: set[int] = set()  # pages read that named their next page
        self.template: PageTemplate | None = None
        self.guessing = ahead > 0
        self.streak = 0  # pages in a row whose oldest article was new
        self.over = False
        self.unread = 0  # pages fetched ahead and never read

    def arrive(self, page: int, url: str, outcome: Any) -> bool:
        """Take the response (or failure) of page ``page`` fetched from ``url``;
        False if it will never be read (a wrong guess, or past the walk's end)."""
        if self.over or page < self.expected or self.urls.get(page) != url or page in self.held:
            self.unread += 1
            return False
        self.held[page] = outcome
        return True

    def ready(self) -> Iterator[tuple[int, Any]]:
        """The pages to read now, in order. Read each and call :meth:`follow`
        (or not: the walk ends) before taking the next."""
        while not self.over and self.expected in self.named and self.expected in self.held:
            page = self.expected
            self.expected += 1
            yield page, self.held.pop(page)
            if page not in self.followed:
                self.stop()

    def follow(self, page: int, next_url: str, likely_more: bool) -> list[tuple[int, str]]:
        """Page ``page`` names ``next_url`` as its next page; the (page, URL)s to fetch."""
        self.followed.add(page)
        nxt = page + 1
        wanted: list[tuple[int, str]] = []
        if self.urls.get(nxt) != next_url:
            if nxt in self.urls:  # a wrong guess: guess no more, drop what was guessed
                self.guessing = False
                for later in [p for p in self.urls if p >= nxt]:
                    del self.urls[later]
                    self.unread += self.held.pop(later, None) is not None
            self.urls[nxt] = next_url
            wanted.append((nxt, next_url))
        self.named.add(nxt)
        if self.guessing and self.template is None:
            self.template = PageTemplate.learn(self.urls[page], next_url, page)
            if self.template is None and page > 1:
                self.guessing = False  # two pages in, still no pattern: page by page
        self.streak = self.streak + 1 if likely_more else 0
        if self.guessing and self.template is not None and self.streak:
            # 1, 2, 4, … pages ahead as the backfill goes on, up to ``ahead``.
            window = min(self.ahead, 2 ** (self.streak - 1))
            for ahead in range(nxt + 1, min(nxt + window, self.max_pages) + 1):
                if ahead not in self.urls:
                    self.urls[ahead] = self.template.url(ahead)
                    wanted.append((ahead, self.urls[ahead]))
        return wanted

    def stop(self) -> None:
        """The walk ends here: whatever was fetched ahead stays unread."""
        if not self.over:
            self.over = True
            self.unread += len(self.held)
            self.held.clear()

    def outstanding(self) -> int:
        """Pages asked for beyond the last one read that have not arrived."""
        return sum(1 for p in self.urls if p >= self.expected and p not in self.held)
