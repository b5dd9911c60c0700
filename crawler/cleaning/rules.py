"""A source's own markup rules, applied by the generic sanitizer at fixed points.

The generic body cleaner (:mod:`crawler.cleaning.cleaner`) knows no source. A
feed names its source's rules in the catalog (``cleaning: <module>``, a
module with a ``RULES`` attribute; ``cleaning: none`` for none), and the
cleaner applies them: another source brings its own module instead of
editing the cleaner. The shipped feeds' source is eastmoney
(:mod:`crawler.cleaning.eastmoney`), the catalog's default.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from importlib import import_module

from lxml import etree

#: The catalog's ``cleaning`` when a feed names none: the shipped feeds' source.
DEFAULT_RULES = "crawler.cleaning.eastmoney"
#: The ``cleaning`` value of a feed that takes the generic sanitizer alone.
NO_RULES = "none"


def _nothing(root: etree._Element) -> None:
    pass


def no_promotion(p: etree._Element, text: str) -> bool:
    return False


@dataclass(frozen=True)
class SourceRules:
    """What a source adds to the generic cleaning (each step optional)."""

    #: The one ``class`` a cleaned body keeps (e.g. the outlet credit line's).
    kept_class: str = ""
    #: First, on the parsed fragment (e.g. blocks between marker comments).
    before: Callable[[etree._Element], None] = _nothing
    #: After the generic removals, before spans and classes go (widgets).
    widgets: Callable[[etree._Element], None] = _nothing
    #: Whether a paragraph (its element, its text) only advertises: it goes.
    is_promotion: Callable[[etree._Element, str], bool] = no_promotion
    #: A word every promotion holds: a body whose text lacks it has none, and
    #: its paragraphs are not tested one by one (most bodies). Empty: test them all.
    promotion_word: str = ""


GENERIC = SourceRules()


def load_rules(name: str) -> SourceRules:
    """The rules a catalog's ``cleaning`` names (ValueError saying why not)."""
    if not name or name == NO_RULES:
        return GENERIC
    try:
        rules = import_module(name).RULES
    except ImportError as e:
        raise ValueError(f"cannot import cleaning rules {name!r}: {e}") from None
    except AttributeError:
        raise ValueError(f"module {name!r} has no RULES (crawler.cleaning.rules)") from None
    if not isinstance(rules, SourceRules):
        raise ValueError(f"{name}.RULES is not a SourceRules")
    return rules


def rules_digest(name: str) -> str:
    """A short digest of the rules a catalog's ``cleaning`` names: of its name
    and its module's text, so that any edit of the rules changes the cleaner
    version the capture's provenance records (:func:`crawler.cleaning.cleaner.cleaner_version`).
    A module whose text cannot be read is known by its name alone."""
    text = ""
    if name and name != NO_RULES:
        with suppress(ImportError, OSError, TypeError):
            text = inspect.getsource(import_module(name))
    return hashlib.sha256(f"{name or NO_RULES}\n{text}".encode()).hexdigest()[:8]
