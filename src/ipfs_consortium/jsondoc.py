"""Decoding JSON documents that people write, with errors that say where and why."""

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import ConsortiumError


def decode_json(data: bytes, where: str, error: type[ConsortiumError]) -> Any:
    """Decode ``data``; any failure becomes ``error`` with a sentence naming ``where``."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise error(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise error(
            f"{where}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        # The C decoder recurses once per nesting level; a hostile file can exhaust it.
        raise error(f"{where}: JSON nested too deeply") from None


_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARS = frozenset("0123456789.eE+-")


class _Stream:
    """Text decoded from chunks of UTF-8, with the position of an error in the whole."""

    def __init__(self, chunks: Iterable[bytes], where: str, error: type[ConsortiumError]):
        self.chunks = iter(chunks)
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.where, self.error = where, error
        self.text, self.pos, self.ended = "", 0, False
        # Where ``text`` starts in the whole, for messages: lines before it, and
        # characters between the last of those and its start.
        self.lines, self.column = 0, 0

    def more(self) -> bool:
        """Append the next chunk; False at the end of the input."""
        if self.ended:
            return False
        try:
            chunk = next(self.chunks)
        except StopIteration:
            self.ended = True
            chunk = b""
        try:
            new = self.utf8.decode(chunk, final=self.ended)
        except UnicodeDecodeError:
            raise self.error(f"{self.where}: not UTF-8 text") from None
        done = self.text[: self.pos]
        if "\n" in done:
            self.lines += done.count("\n")
            self.column = len(done) - done.rfind("\n") - 1
        else:
            self.column += len(done)
        self.text, self.pos = self.text[self.pos :] + new, 0
        return bool(new) or not self.ended

    def skip_space(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the input."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def fail(self, message: str, pos: int | None = None) -> ConsortiumError:
        pos = self.pos if pos is None else pos
        head = self.text[:pos]
        line = self.lines + head.count("\n") + 1
        column = pos - head.rfind("\n") if "\n" in head else self.column + pos + 1
        return self.error(
            f"{self.where}: not valid JSON at line {line} column {column} ({message})"
        )


def iter_json_array(
    chunks: Iterable[bytes], where: str, error: type[ConsortiumError], expected: str
) -> Iterator[Any]:
    """Yield each element of a JSON array read from ``chunks``, one at a time.

    Only the current chunk and element are held, so a file of a million entries costs
    no more memory than one of ten. A document that is not an array raises ``error``
    saying it must be ``expected`` and what it is; so does invalid JSON, with where.
    """
    stream = _Stream(chunks, where, error)
    decoder = json.JSONDecoder()
    first = stream.skip_space()
    if first != "[":
        # The decoder may hold the first bytes of a character cut by a chunk's end.
        rest = [stream.text[stream.pos :].encode(), stream.utf8.getstate()[0]]
        rest.extend(stream.chunks)
        value = decode_json(b"".join(rest), where, error)
        raise error(f"{where}: must be {expected}, not a JSON {type(value).__name__}")
    stream.pos += 1
    if stream.skip_space() == "]":
        stream.pos += 1
    else:
        while True:
            value, stream.pos = _element(stream, decoder)
            yield value
            after = stream.skip_space()
            stream.pos += 1
            if after == "]":
                break
            if after != ",":
                raise stream.fail("expected ',' or ']'", stream.pos - 1)
            stream.skip_space()
    if stream.skip_space():
        raise stream.fail("extra data after the array")


def _element(stream: _Stream, decoder: json.JSONDecoder) -> tuple[Any, int]:
    while True:
        try:
            value, end = decoder.raw_decode(stream.text, stream.pos)
        except json.JSONDecodeError as exc:
            offset = exc.pos - stream.pos  # more() moves the element's start to 0
            if stream.more():
                continue
            raise stream.fail(exc.msg, stream.pos + offset) from None
        except RecursionError:
            # The C decoder recurses once per nesting level; a hostile file can exhaust it.
            raise stream.error(f"{stream.where}: JSON nested too deeply") from None
        # A number cut by the end of a chunk decodes as a shorter one: read on.
        number = isinstance(value, int | float) and not isinstance(value, bool)
        cut = end == len(stream.text) or stream.text[end] in _NUMBER_CHARS
        if number and cut and stream.more():
            continue
        return value, end
