"""Queued requests as JSON, not pickle: a Redis anyone can write cannot run code on a worker.

scrapy-redis stores each queued request as ``SCHEDULER_SERIALIZER.dumps(
request.to_dict(spider=spider))`` and reads it back with ``loads`` and
``request_from_dict``; its default serializer is pickle, and unpickling what
someone wrote into Redis runs whatever they chose. This module is the fleet's
``SCHEDULER_SERIALIZER``: JSON, with three tagged forms for what a request's
dict holds that JSON has not:

- ``{"$b": "<base64>"}``: bytes (headers, body);
- ``{"$d": [[key, value], …]}``: a dict whose keys are not all strings, or
  that has a key starting with ``$`` (headers are keyed by bytes);
- ``{"$entry": {…}}``: a listing's :class:`~crawler.source.listings.Entry` in an
  article request's ``cb_kwargs``;
- ``{"$exchange": {…}}``: with ``MIRROR_CAPTURE``, the listing's captured
  :class:`~crawler.mirror.capture.Exchange` in an article request's ``meta``
  (the worker that writes the post captures the listing that named it).

Anything else (an object of another class) cannot be queued: :func:`dumps`
raises TypeError naming it. :func:`loads` builds nothing but those values and
raises ValueError for anything that is not such JSON, or that names a request
class (``_class``, which ``request_from_dict`` would import and call): the
fleet queues plain :class:`scrapy.Request` objects only.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict
from typing import Any

from crawler.mirror.capture import Exchange
from crawler.source.listings import Entry


def _encode(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, Entry):
        return {"$entry": asdict(value)}
    if isinstance(value, Exchange):
        return {"$exchange": _encode(asdict(value))}
    raise TypeError(f"a queued request cannot hold a {type(value).__name__}: {value!r:.100}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key == "$b":
            return base64.b64decode(value, validate=True)
        if key == "$d":
            return {_hashable(k): v for k, v in value}
        if key == "$entry":
            return Entry(
                info_code=str(value["info_code"]), url=str(value.get("url") or ""),
                fields={str(k): str(v) for k, v in (value.get("fields") or {}).items()},
                api_code=str(value.get("api_code") or ""),
            )  # fmt: skip
        if key == "$exchange":
            return exchange_from(value)
    if any(key.startswith("$") for key in obj):
        raise ValueError(f"unknown tagged value {sorted(obj)[:3]}")
    return obj


_EXCHANGE_FIELDS = {
    "key": str, "method": str, "url": str, "request_body": bytes,
    "response_url": str, "status": int, "protocol": str, "body": bytes,
}  # fmt: skip


def exchange_from(value: dict[str, Any]) -> Exchange:
    """An :class:`Exchange` from its queued form (TypeError if it is none)."""
    for name, kind in _EXCHANGE_FIELDS.items():
        if not isinstance(value.get(name), kind):
            raise TypeError(f"a queued exchange has no {name}")
    return Exchange(
        key=value["key"],
        method=value["method"],
        url=value["url"],
        request_headers=[(str(k), str(v)) for k, v in value.get("request_headers") or []],
        request_body=value["request_body"],
        response_url=value["response_url"],
        status=value["status"],
        protocol=value["protocol"],
        headers=[(str(k), str(v)) for k, v in value.get("headers") or []],
        body=value["body"],
    )


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def dumps(obj: dict[str, Any]) -> bytes:
    """A request's dict (``Request.to_dict``) as UTF-8 JSON."""
    if "_class" in obj:
        raise TypeError(f"the fleet queues plain Requests only, not {obj['_class']}")
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> dict[str, Any]:
    """The request's dict back from :func:`dumps`' JSON; ValueError for anything else."""
    try:
        obj = json.loads(data, object_hook=_decode)
    except (UnicodeDecodeError, RecursionError, binascii.Error, KeyError, TypeError,
            AttributeError) as e:  # fmt: skip
        raise ValueError(f"not a queued request: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"not a queued request: JSON {type(obj).__name__}")
    if "_class" in obj:
        # request_from_dict would import and call whatever class it names.
        raise ValueError(f"not a queued request: it names a class ({obj['_class']!r:.80})")
    return obj
