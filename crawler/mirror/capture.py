"""The raw capture (SPEC §11): what the source sent for each post, as WARC 1.1.

Files live in ``<MIRROR_DIR>/.mirror/capture/`` (:mod:`crawler.mirror.paths`):

- ``<UTC time>-<host>-<pid>-<feed>-<n>.warc.gz``: gzip WARC files, one gzip
  member per record (``warcio``), each starting with a ``warcinfo`` record.
  A file is written as ``….warc.gz.open``; once it reaches
  ``MIRROR_CAPTURE_MAX_BYTES``, or its crawl ends, it is flushed, fsynced and
  renamed into place, so a closed file is never torn. Each writer (one per
  feed crawled, per process) has files of its own: no two processes, or two
  crawlers of one process, share a file, and a fleet's workers each write
  theirs.
- ``provenance-<host>.jsonl``: one line per post written, revised by a
  revisit, or rewritten by ``scrapy rebuild``: its infoCode, feed, file name,
  the cleaner's version and the feed's ``drop`` rules it was cleaned with,
  the number of its revisions (``_revisions/``) the line accounts for, and
  the WARC records it was derived from (file, offset, record id, payload
  digest, URI), by role: ``article`` (the first fetch's response) and
  ``listing`` (the listing response that named it), which give the post its
  date, outlet, category and digest, and ``revision`` (the response of the
  revisit that last changed it), which gives it its title and body, as the
  reviser does (:mod:`crawler.pipelines.revise`). A revisit's line names only
  its ``revision`` record: :func:`read_provenance` adds the records of the
  post's line before it. Else the last line of a post wins. Appended with
  ``O_APPEND`` (each line one ``write``), so the processes of one host share
  the file; each host has its own.

A record pair is a ``response`` (status line, headers and body as received:
before Scrapy decompresses it) and its ``request`` (``WARC-Concurrent-To``
the response). What Scrapy does not give back as it went over the wire is
normalised: header names are in Scrapy's capitalisation, a chunked body is
stored de-chunked (and its ``Transfer-Encoding`` header dropped), the status
line's reason phrase is the standard one, and the request's ``Host`` header is
the URL's.

A crash (``SIGKILL``, power cut) loses at most the records of the file still
open: the next writer on the same host finds a ``.open`` file whose process
is gone, keeps its complete records and closes it (:func:`recover`). A post
whose records were lost has no provenance, or provenance naming a record that
is not there, and ``scrapy verify --capture`` says so.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from scrapy.http import Request, Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.mirror.archive import sync_dir
from crawler.mirror.paths import CAPTURE_DIR, PROVENANCE_PREFIX, STATE_DIR

logger = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
_NAME = re.compile(r"\d{14}-(?P<host>.+)-(?P<pid>\d+)-[^-]+-\d{5}\.warc\.gz")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


def capture_dir(mirror_dir: str | Path) -> Path:
    return Path(mirror_dir) / STATE_DIR / CAPTURE_DIR


def host_name() -> str:
    """This host's name as it goes into file names (no ``-``: it separates fields)."""
    return _UNSAFE.sub("_", socket.gethostname()) or "host"


@dataclass(frozen=True)
class Exchange:
    """One request and the response to it, as received (body not decompressed)."""

    key: str  # unique (uuid4): an exchange written twice to one file is written once
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    response_url: str
    status: int
    protocol: str
    headers: list[tuple[str, str]]
    body: bytes

    def response(self) -> Response:
        """The response as Scrapy would hand it to a spider before decompression."""
        headers = Headers([(k, v) for k, v in self.headers])
        cls = responsetypes.from_args(headers=headers, url=self.response_url, body=self.body)
        request = Request(self.url, method=self.method, body=self.request_body)
        return cls(
            url=self.response_url,
            status=self.status,
            headers=headers,
            body=self.body,
            request=request,
            protocol=self.protocol or None,
        )


def _header_pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def exchange_of(request: Request, response: Response) -> Exchange:
    request_headers = _header_pairs(request.headers)
    if not any(name.lower() == "host" for name, _ in request_headers):
        from urllib.parse import urlsplit

        request_headers.insert(0, ("Host", urlsplit(request.url).netloc))
    return Exchange(
        key=uuid.uuid4().hex,
        method=request.method,
        url=request.url,
        request_headers=request_headers,
        request_body=request.body,
        response_url=response.url,
        status=response.status,
        protocol=response.protocol or "HTTP/1.1",
        headers=[
            (k, v) for k, v in _header_pairs(response.headers) if k.lower() != "transfer-encoding"
        ],
        body=response.body,
    )


@dataclass(frozen=True)
class RecordRef:
    """Where a response record is: what provenance keeps of it."""

    role: str  # "article", "listing" or "revision"
    file: str
    offset: int
    id: str
    digest: str
    uri: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role, "file": self.file, "offset": self.offset,
            "id": self.id, "digest": self.digest, "uri": self.uri,
        }  # fmt: skip


class CaptureWriter:
    """Appends exchanges to this writer's own size-rotated WARC files."""

    def __init__(
        self, mirror_dir: str | Path, label: str, max_bytes: int, durable: bool = True
    ) -> None:
        self.dir = capture_dir(mirror_dir)
        self.label = _UNSAFE.sub("_", label) or "feed"
        self.max_bytes = max_bytes
        self.durable = durable
        self.host = host_name()
        self.serial = 0
        self.file: IO[bytes] | None = None
        self.name = ""
        self.writer: WARCWriter | None = None
        self.written: dict[str, RecordRef] = {}  # exchange key → its record in this file
        self.closed_files = 0

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.serial += 1
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self.name = f"{stamp}-{self.host}-{os.getpid()}-{self.label}-{self.serial:05d}{SUFFIX}"
        self.file = open(self.dir / (self.name + OPEN_SUFFIX), "xb")  # noqa: SIM115
        self.writer = WARCWriter(self.file, gzip=True, warc_version=WARC_VERSION)
        info = self.writer.create_warcinfo_record(
            self.name,
            {"software": "news-mirror", "format": "WARC File Format 1.1", "isPartOf": self.label},
        )
        self.writer.write_record(info)
        self.written = {}

    def write(self, exchanges: Iterable[tuple[str, Exchange]]) -> list[RecordRef]:
        """Appends each exchange (not yet in the open file) and flushes; the
        references of their response records, by role, in order."""
        if self.file is None:
            self._open()
        assert self.file is not None and self.writer is not None
        refs = []
        for role, exchange in exchanges:
            ref = self.written.get(exchange.key)
            if ref is None:
                ref = self._write_pair(role, exchange)
                self.written[exchange.key] = ref
            elif ref.role != role:
                ref = RecordRef(role, ref.file, ref.offset, ref.id, ref.digest, ref.uri)
            refs.append(ref)
        self.file.flush()
        if self.file.tell() >= self.max_bytes > 0:
            self.close()
        return refs

    def _write_pair(self, role: str, exchange: Exchange) -> RecordRef:
        assert self.file is not None and self.writer is not None
        writer = self.writer
        reason = _reason(exchange.status)
        response = writer.create_warc_record(
            exchange.response_url,
            "response",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=StatusAndHeaders(
                f"{exchange.status} {reason}".strip(),
                exchange.headers,
                protocol=exchange.protocol,
            ),
        )
        path = exchange.url.split("/", 3)[3] if exchange.url.count("/") >= 3 else ""
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=StatusAndHeaders(
                f"{exchange.method} /{path} {exchange.protocol}",
                exchange.request_headers,
                is_http_request=True,
            ),
        )
        offset = self.file.tell()
        writer.write_request_response_pair(request, response)
        headers = response.rec_headers
        return RecordRef(
            role,
            self.name,
            offset,
            headers.get_header("WARC-Record-ID"),
            headers.get_header("WARC-Payload-Digest"),
            exchange.response_url,
        )

    def close(self) -> None:
        """Flushes, fsyncs and renames the open file into place."""
        if self.file is None:
            return
        self.file.flush()
        if self.durable:
            os.fsync(self.file.fileno())
        self.file.close()
        self.file = self.writer = None
        os.rename(self.dir / (self.name + OPEN_SUFFIX), self.dir / self.name)
        if self.durable:
            sync_dir(self.dir)
        self.closed_files += 1


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- provenance ---------------------------------------------------------------


class ProvenanceLog:
    """This host's provenance file, appended one line per post."""

    def __init__(self, mirror_dir: str | Path, durable: bool = True) -> None:
        self.dir = capture_dir(mirror_dir)
        self.path = self.dir / f"{PROVENANCE_PREFIX}{host_name()}.jsonl"
        self.durable = durable
        self.fd: int | None = None

    def append(
        self,
        code: str,
        feed: str,
        post: str,
        cleaner: str,
        drop: Iterable[str],
        records: list[RecordRef],
        revisions: int = 0,
    ) -> None:
        if self.fd is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = {
            "code": code, "feed": feed, "post": post,
            "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "cleaner": cleaner, "drop": list(drop), "revisions": revisions,
            "records": [ref.as_dict() for ref in records],
        }  # fmt: skip
        os.write(self.fd, (json.dumps(line, ensure_ascii=False) + "\n").encode())

    def sync(self) -> None:
        if self.fd is not None and self.durable:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            self.sync()
            os.close(self.fd)
            self.fd = None


def roles(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A provenance line's records by role."""
    return {ref["role"]: ref for ref in line.get("records", []) if isinstance(ref, dict)}


def read_provenance(mirror_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every post's latest provenance, by infoCode (a torn line is skipped): its
    latest line with an ``article`` record and, when a revisit's line (a
    ``revision`` record alone) is newer, that line with the article's records
    added (its cleaner and count of revisions are the revision's)."""
    latest: dict[str, dict[str, Any]] = {}
    revised: dict[str, dict[str, Any]] = {}
    folder = capture_dir(mirror_dir)
    for path in sorted(folder.glob(f"{PROVENANCE_PREFIX}*.jsonl")):
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    line = json.loads(raw)
                    code, at = line["code"], line["at"]
                except (ValueError, KeyError, TypeError):
                    logger.warning("Skipped unreadable line %d of %s", number, path)
                    continue
                into = latest if "article" in roles(line) else revised
                if code not in into or into[code]["at"] <= at:
                    into[code] = line
    for code, line in revised.items():
        base = latest.get(code)
        if base is None:  # the first fetch was not captured: no article record
            latest[code] = line
        elif base["at"] <= line["at"]:
            kept = [ref for ref in base.get("records", []) if ref.get("role") != "revision"]
            latest[code] = {**line, "records": kept + list(line.get("records", []))}
    return latest


# --- reading back -------------------------------------------------------------


class CaptureError(ValueError):
    """A record the provenance names that cannot be read back."""


def read_exchange(mirror_dir: str | Path, ref: dict[str, Any]) -> Exchange:
    """The exchange whose response record ``ref`` (a provenance record) names."""
    path = capture_dir(mirror_dir) / str(ref["file"])
    try:
        with open(path, "rb") as f:
            f.seek(int(ref["offset"]))
            records = ArchiveIterator(f)
            response = next(records)
            headers = response.rec_headers
            if headers.get_header("WARC-Record-ID") != ref["id"]:
                raise CaptureError(f"{path} has no record {ref['id']} at offset {ref['offset']}")
            body = response.raw_stream.read()
            request = next(records)
            request_body = request.raw_stream.read()
    except FileNotFoundError:
        raise CaptureError(f"capture file {path} is missing") from None
    except StopIteration:
        raise CaptureError(f"{path} ends before record {ref['id']}") from None
    except (OSError, EOFError, ValueError) as e:
        if isinstance(e, CaptureError):
            raise
        raise CaptureError(f"{path}: record {ref['id']} cannot be read: {e}") from None
    http = response.http_headers
    req_http = request.http_headers
    return Exchange(
        key="",
        method=req_http.protocol if req_http else "GET",
        url=request.rec_headers.get_header("WARC-Target-URI") or ref["uri"],
        request_headers=list(req_http.headers) if req_http else [],
        request_body=request_body,
        response_url=headers.get_header("WARC-Target-URI"),
        status=int(http.get_statuscode()),
        protocol=http.protocol,
        headers=list(http.headers),
        body=body,
    )


def payload_digest(body: bytes) -> str:
    """A body's ``WARC-Payload-Digest``, as warcio writes it (``sha1:`` base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def check_file(path: Path) -> list[str]:
    """What is wrong with one closed WARC file: each digest checked (warcio)."""
    problems = []
    try:
        with open(path, "rb") as f:
            records = ArchiveIterator(f, check_digests=True)
            for record in records:
                while record.content_stream().read(1 << 20):
                    pass
                if record.digest_checker.passed is False:
                    problems.append(
                        f"record {record.rec_headers.get_header('WARC-Record-ID')}: "
                        + "; ".join(record.digest_checker.problems)
                    )
    except Exception as e:
        problems.append(f"cannot be read: {e}")
    return problems


def capture_files(mirror_dir: str | Path) -> list[Path]:
    return sorted(capture_dir(mirror_dir).glob(f"*{SUFFIX}"))


def capture_size(mirror_dir: str | Path) -> tuple[int, int]:
    """The closed capture files and their size in bytes."""
    files = capture_files(mirror_dir)
    return len(files), sum(f.stat().st_size for f in files)


# --- recovery -----------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_open_files(mirror_dir: str | Path) -> Iterator[Path]:
    """This host's ``.open`` capture files whose process is gone."""
    host = host_name()
    for path in sorted(capture_dir(mirror_dir).glob(f"*{SUFFIX}{OPEN_SUFFIX}")):
        match = _NAME.fullmatch(path.name[: -len(OPEN_SUFFIX)])
        if match and match["host"] == host and not _alive(int(match["pid"])):
            yield path


def recover(path: Path, durable: bool = True) -> int:
    """Keeps the complete records of a file its crashed writer left open:
    cut after the last whole record, fsynced and renamed into place (removed
    if it holds none but its ``warcinfo``). The records kept."""
    ends = []
    with open(path, "rb") as f:
        records = ArchiveIterator(f, no_record_parse=True)  # the whole block as bytes
        try:
            for record in records:
                got = 0
                while chunk := record.raw_stream.read(1 << 20):
                    got += len(chunk)
                if got < record.length:  # cut short: the file ends inside it
                    break
                ends.append(records.get_record_offset() + records.get_record_length())
        except Exception:
            pass
    kept = len(ends) - 1  # the warcinfo record is not a capture
    if kept <= 0:
        path.unlink()
        return 0
    with open(path, "r+b") as f:
        f.truncate(ends[-1])
        if durable:
            os.fsync(f.fileno())
    with contextlib.suppress(FileNotFoundError):  # recovered meanwhile by another process
        os.rename(path, path.with_name(path.name[: -len(OPEN_SUFFIX)]))
    if durable:
        sync_dir(path.parent)
    return kept // 2  # pairs: response and request
