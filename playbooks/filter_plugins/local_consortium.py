"""The CID of a local consortium member's sample text (inventory/local), so that the text is
the whole edit: its manifest lists this CID, and playbooks/local-consortium.yml adds the
text with ``ipfs add --cid-version=1`` and checks that the member's Kubo gives the same.

Up to one chunk, Kubo stores such a file as one raw block, whose CIDv1 is its SHA-256 with
a fixed prefix in base32: nothing here that needs a library or a running Kubo.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ansible.errors import AnsibleFilterError

# Kubo's default chunk size: a longer file becomes several blocks under a dag-pb root.
CHUNK_BYTES = 262144
# CIDv1, raw codec (0x55), sha2-256 multihash (0x12) of 32 bytes.
RAW_SHA256_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])


def local_consortium_cid(text: Any) -> str:
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"local_consortium_sample must be text, not {type(text).__name__}: quote it in "
            "inventory/local/host_vars/<member>.yml"
        )
    data = text.encode()
    if len(data) > CHUNK_BYTES:
        raise AnsibleFilterError(
            f"local_consortium_sample is {len(data)} bytes: shorten it to at most "
            f"{CHUNK_BYTES} (one block) in inventory/local/host_vars/<member>.yml"
        )
    cid = RAW_SHA256_PREFIX + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"local_consortium_cid": local_consortium_cid}
