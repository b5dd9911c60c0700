"""Who the crawler says it is: ``USER_AGENT`` built from ``MIRROR_CONTACT_URL``.

The user agent names the project, its version and where a site's owner can
reach whoever runs it: ``news-mirror/0.1.0 (+https://example.org/contact)``.
An add-on sets it at add-on priority, so a ``USER_AGENT`` given anywhere else
(``-s USER_AGENT=…``, a project's own settings) still wins. Robots.txt rules
are matched against the same agent (Scrapy's ``ROBOTSTXT_USER_AGENT`` unset).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from scrapy.settings import BaseSettings

PROJECT = "news-mirror"


def user_agent(contact_url: str) -> str:
    try:
        release = version(PROJECT)
    except PackageNotFoundError:  # run from a source tree that is not installed
        release = "0"
    contact = contact_url.strip()
    return f"{PROJECT}/{release}" + (f" (+{contact})" if contact else "")


class IdentityAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        settings.set(
            "USER_AGENT", user_agent(settings.get("MIRROR_CONTACT_URL") or ""), priority="addon"
        )
