"""Why a download failed, as a stable name a summary can count and a person can read.

:func:`error_kind` gives the name under which a failed request is counted
(``mirror/errors/<kind>``) and shown in the feed summary; :func:`describe`
the text of its log line. The names do not depend on which download handler,
Scrapy or Twisted version raised the exception:

==============  ==============================================================
``http_<n>``    the server answered with HTTP status n (after the retries)
``too_big``     the answer passed ``DOWNLOAD_MAXSIZE`` and was cut off
``timeout``     no whole answer within ``DOWNLOAD_TIMEOUT``, or no connection
``dns``         the host name does not resolve
``refused``     the host refused the connection (nothing listens on the port)
``reset``       the connection was reset or closed before the answer was whole
``dataloss``    the answer was shorter than its ``Content-Length``
``tls``         the TLS handshake failed (not TLS, or a certificate refused)
``ignored``     not asked for: robots.txt, off the feed's hosts, a redirect loop
``other``       anything else (the log line names the exception)
==============  ==============================================================

:func:`cause` says it in a few words, for a feed summary (``no listing page
could be read: connection refused (refused)``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

from OpenSSL.SSL import Error as OpenSSLError  # pyOpenSSL: Scrapy's TLS
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import error as tx
from twisted.python.failure import Failure

from crawler.compat import TwistedDataLoss

# Checked in this order on the exception and on each exception inside it.
# fmt: off
_KINDS: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    # Scrapy's HTTP handler cancels a download itself only past DOWNLOAD_MAXSIZE
    # (its timeout is a DownloadTimeoutError).
    ("too_big", (DownloadCancelledError,)),
    ("timeout", (DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError, TimeoutError)),
    ("dns", (CannotResolveHostError, tx.DNSLookupError)),
    ("refused", (DownloadConnectionRefusedError, tx.ConnectionRefusedError,
                 ConnectionRefusedError)),
    ("tls", (OpenSSLError, ssl.SSLError, tx.CertificateError, tx.SSLError)),
    ("dataloss", (ResponseDataLossError, TwistedDataLoss)),
    ("reset", (tx.ConnectionLost, tx.ConnectionDone, tx.ConnectionAborted,
               ConnectionResetError, ConnectionAbortedError, BrokenPipeError)),
)
# fmt: on

# What each kind means, in a few words (cause()).
_WORDS = {
    "too_big": "answer larger than DOWNLOAD_MAXSIZE",
    "timeout": "no answer within DOWNLOAD_TIMEOUT",
    "dns": "host name {host} does not resolve",
    "refused": "connection refused by {host}",
    "reset": "connection reset by {host}",
    "dataloss": "answer cut short by {host}",
    "tls": "TLS handshake with {host} failed",
    "ignored": "not requested (robots.txt, another host or a redirect loop)",
}


def failed_request(failure: Failure) -> Request:
    """The request of the failure an errback is given: Scrapy sets it as
    ``failure.request``, an attribute Twisted's Failure does not declare."""
    request: Request = failure.request  # type: ignore[attr-defined]
    return request


def _inside(exc: BaseException | None, depth: int = 0) -> Iterator[BaseException]:
    """``exc`` and the exceptions it wraps: Python's cause and Twisted's ``reasons``."""
    if exc is None or depth > 5:
        return
    yield exc
    inner = exc.__cause__ or exc.__context__
    if inner is not None:
        yield from _inside(inner, depth + 1)
    for reason in getattr(exc, "reasons", None) or ():
        if isinstance(reason, Failure):
            yield from _inside(reason.value, depth + 1)


def _cause(failure: Failure) -> tuple[str, BaseException | None]:
    """The kind of the failure and the exception that decided it."""
    found = list(_inside(failure.value))
    for kind, types in _KINDS:
        for exc in found:
            if isinstance(exc, types):
                return kind, exc
    return "other", failure.value


def error_kind(failure: Failure) -> str:
    """The stable name of what made a request fail (see the module's table)."""
    if isinstance(failure.value, HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest):
        # One that says why (the fleet's lost Redis: redis_unavailable) names itself.
        return getattr(failure.value, "kind", None) or "ignored"
    return _cause(failure)[0]


def describe(failure: Failure) -> str:
    """A log line's account of a failed request: its kind and what was said."""
    if isinstance(failure.value, HttpError):
        return f"HTTP {failure.value.response.status}"
    if failure.check(IgnoreRequest):
        return f"ignored ({failure.getErrorMessage()})"
    kind, exc = _cause(failure)
    message = " ".join(str(exc).split()) or " ".join(failure.getErrorMessage().split())
    if kind == "other":
        kind = type(failure.value).__name__
    return f"{kind}: {message}" if message else kind


def cause(failure: Failure) -> str:
    """What made the request fail, in a few words with its kind, for a summary."""
    kind = error_kind(failure)
    if kind.startswith("http_"):
        return f"HTTP {kind[len('http_') :]}"
    words = _WORDS.get(kind)
    if words is None:
        return describe(failure)
    request = getattr(failure, "request", None)
    host = urlparse_cached(request).netloc if request is not None else "the host"
    return f"{words.format(host=host)} ({kind})"
