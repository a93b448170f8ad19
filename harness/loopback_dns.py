"""A DNS-over-HTTP server on loopback: names a test sets, and nothing else.

Kubo takes a plain-HTTP DoH URL on 127.0.0.1 in DNS.Resolvers, and asks it with an RFC 8484
POST of a DNS message. This server answers A queries for the names in ``records`` (which a
test may change while it runs) with a TTL of 0, so the asker caches nothing; any other type
for those names is an empty answer, and every other name is NXDOMAIN. No query goes on
anywhere, and each one is recorded, so a test can say which names were asked.
"""

from __future__ import annotations

import ipaddress
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.loopback_http import in_thread

DNS_MESSAGE = "application/dns-message"
TYPE_A = 1
NOERROR, FORMERR, NXDOMAIN = 0, 1, 3


@dataclass(frozen=True)
class Query:
    name: str
    qtype: int
    answer: str | None  # the IPv4 address given, if any


@dataclass
class Zone:
    """What the server knows (name -> IPv4 address) and what it was asked."""

    records: dict[str, str] = field(default_factory=dict)
    queries: list[Query] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, name: str, address: str) -> None:
        with self.lock:
            self.records[name.lower()] = address

    def asked(self) -> list[Query]:
        with self.lock:
            return list(self.queries)

    def answer(self, request: bytes) -> bytes:
        try:
            ident, flags, qdcount = struct.unpack_from("!HHH", request)
            name, end = _read_name(request, 12)
            qtype, qclass = struct.unpack_from("!HH", request, end)
        except (struct.error, IndexError, UnicodeDecodeError):
            qdcount = 0
        if qdcount != 1:
            return struct.pack("!HHHHHH", 0, 0x8000 | FORMERR, 0, 0, 0, 0)
        question = request[12 : end + 4]
        with self.lock:
            address = self.records.get(name)
            given = address if qtype == TYPE_A and address is not None else None
            self.queries.append(Query(name, qtype, given))
        rcode = NXDOMAIN if address is None else NOERROR
        # QR, the asker's opcode and RD, AA and RA.
        reply_flags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
        answers = b""
        if given is not None:
            # A pointer to the question's name, type A, class IN, TTL 0, four bytes of address.
            answers = struct.pack("!HHHIH", 0xC00C, TYPE_A, qclass, 0, 4)
            answers += ipaddress.IPv4Address(given).packed
        header = struct.pack("!HHHHHH", ident, reply_flags, 1, 1 if answers else 0, 0, 0)
        return header + question + answers


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while (length := message[offset]) != 0:
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    return ".".join(labels), offset + 1


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        request = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = self.server.zone.answer(request)
        self.send_response(200)
        self.send_header("Content-Type", DNS_MESSAGE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # stderr belongs to the test


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, zone: Zone) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.zone = zone


@contextmanager
def serving(zone: Zone) -> Iterator[str]:
    """The DoH URL of a loopback server answering from ``zone``."""
    with in_thread(_Server(zone)) as url:
        yield f"{url}/dns-query"
