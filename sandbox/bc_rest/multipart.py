"""OData v4 multipart ``$batch`` (``Content-Type: multipart/mixed; boundary=…``) for the BC API sandbox.

Why: BC accepts the multipart batch format beside the JSON one, and clients written from the OData specification
send it. Each part is an ``application/http`` request (method, URL relative to the service root, headers, body);
a nested ``multipart/mixed`` part is a change set whose requests are answered as a nested change set. The requests
run through the same dispatch as JSON batch parts; this module only reads and writes the envelope.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_API_ROOT = re.compile(r"^.*?/api/v2\.0/", re.IGNORECASE)


class MultipartError(ValueError):
    """A multipart batch the sandbox cannot read (missing boundary, a part that is no HTTP request)."""


@dataclass
class Part:
    """One request of a multipart batch, in the shape of a JSON batch part; ``changeset`` groups change sets."""

    id: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    changeset: int | None = None


@dataclass
class Answer:
    """One answer, in request order, with the change set it belongs to; ``body`` already encoded."""

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    changeset: int | None = None


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/mixed")


def parse(content_type: str, body: bytes) -> list[Part]:
    """The requests of a multipart batch, change sets flattened in order."""
    parts: list[Part] = []
    for number, (headers, content) in enumerate(_split(content_type, body)):
        inner_type = headers.get("content-type", "")
        if is_multipart(inner_type):
            for headers_in, content_in in _split(inner_type, content):
                parts.append(_request(headers_in, content_in, len(parts), changeset=number))
        else:
            parts.append(_request(headers, content, len(parts), changeset=None))
    return parts


def render(answers: list[Answer]) -> tuple[bytes, str]:
    """The multipart batch response (body, content type) for ``answers`` in request order."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[str] = []
    index = 0
    while index < len(answers):
        answer = answers[index]
        if answer.changeset is None:
            out.append(f"--{boundary}\r\n{_http(answer)}")
            index += 1
            continue
        group = [a for a in answers[index:] if a.changeset == answer.changeset]
        inner = f"changesetresponse_{uuid.uuid4()}"
        nested = "".join(f"--{inner}\r\n{_http(a)}" for a in group) + f"--{inner}--\r\n"
        out.append(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={inner}\r\n\r\n{nested}")
        index += len(group)
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode("utf-8"), f"multipart/mixed; boundary={boundary}"


def _split(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise MultipartError("The multipart batch has no boundary.")
    delimiter = b"--" + match.group(1).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 2 or not chunks[-1].lstrip().startswith(b"--"):
        raise MultipartError("The multipart batch is not closed by its boundary.")
    return [_headers_and_body(chunk.strip(b"\r\n")) for chunk in chunks[1:-1]]


def _headers_and_body(chunk: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = chunk.replace(b"\r\n", b"\n").partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _request(headers: dict[str, str], content: bytes, number: int, changeset: int | None) -> Part:
    if not headers.get("content-type", "").lower().startswith("application/http"):
        raise MultipartError(f"Batch part {number + 1} is not an application/http request.")
    request_line, _, rest = content.replace(b"\r\n", b"\n").partition(b"\n")
    words = request_line.decode("utf-8").split()
    if len(words) < 2:
        raise MultipartError(f"Batch part {number + 1} has no request line.")
    http_headers, body = ({}, rest[1:]) if rest.startswith(b"\n") else _headers_and_body(rest)
    text = body.strip()
    return Part(id=headers.get("content-id", str(number + 1)), method=words[0].upper(), url=_relative(words[1]),
                headers=http_headers, body=json.loads(text, parse_float=Decimal) if text else None,
                changeset=changeset)


def _relative(url: str) -> str:
    """A part's URL relative to the API root: absolute URLs and absolute paths are cut after ``/api/v2.0/``."""
    split = urlsplit(url)
    path = _API_ROOT.sub("", split.path)
    return f"{path}?{split.query}" if split.query else path


def _http(answer: Answer) -> str:
    reason = HTTPStatus(answer.status).phrase
    headers = "".join(f"{name}: {value}\r\n" for name, value in answer.headers.items())
    content_id = f"Content-ID: {answer.id}\r\n" if answer.changeset is not None else ""
    return (f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n{content_id}\r\n"
            f"HTTP/1.1 {answer.status} {reason}\r\n{headers}\r\n{answer.body.decode('utf-8')}\r\n")
