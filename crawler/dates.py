"""Publication times as the source writes them (SPEC §2.2)."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from dateutil import parser as dateparser

_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_CJK_TIME = str.maketrans({"时": ":", "分": ":", "秒": " ", "：": ":"})


def parse_date(text: str, tz: tzinfo) -> datetime:
    """``text`` as an aware datetime in ``tz``; a time without offset is in ``tz``.

    Accepts ``2022-02-20 14:29:54``, ``2022/2/20 14:29``, ``2022年02月20日 14:29``,
    ISO 8601 with an offset, and what else python-dateutil reads. Raises
    ValueError for anything that is not a date.
    """
    text = _CJK_DATE.sub(r"\1-\2-\3 ", text.strip()).translate(_CJK_TIME)
    text = text.strip().rstrip(":")
    if not re.search(r"\d{4}", text):
        raise ValueError(f"not a date: {text!r}")
    try:
        value = dateparser.parse(text, yearfirst=True)
    except (ValueError, OverflowError, dateparser.ParserError) as e:
        raise ValueError(f"not a date: {text!r}") from e
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)
