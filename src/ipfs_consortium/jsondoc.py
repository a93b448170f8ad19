"""Decoding JSON documents that people write, with errors that say where and why."""

import json
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
