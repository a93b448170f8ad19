"""CIDs in any common spelling come out in the one form Kubo's pin/ls uses."""

import base64

import pytest

from ipfs_consortium.errors import CIDError
from ipfs_consortium.ipfs.cid import b58decode, cid_key, key_of_canonical, key_text, parse_cid

V0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
V1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.mark.parametrize(
    "text",
    [
        V1,
        f"/ipfs/{V1}",
        V1.upper(),
        "zdj7Wic6KcJAfWz1c9o4M6kq9Lwd5BfbxkVafnrojaaGiSFxM",
        "f01701220c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a",
        "k2jmtxw8rjh1z69c6not3wtdxb0u3urbzhyll1t9jg6ox26dhi5sfi1m",
    ],
)
def test_spellings_of_one_cidv1(text: str) -> None:
    assert parse_cid(text) == V1
    assert cid_key(text) == key_of_canonical(V1), "one key, from any spelling or Kubo's"


def test_cidv0_stays_base58() -> None:
    assert parse_cid(V0) == V0
    assert parse_cid(f"/ipfs/{V0}") == V0
    assert key_text(key_of_canonical(V0)) == V0


def test_a_cidv0_and_its_cidv1_are_two_keys() -> None:
    # Kubo pins them apart, so the plan must not take one for the other.
    v1 = "b" + base64.b32encode(bytes([1, 0x70]) + b58decode(V0)).decode().lower().rstrip("=")
    assert cid_key(v1) != cid_key(V0)
    assert key_text(cid_key(v1)) == v1 and key_text(cid_key(V0)) == V0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Qmfoo",
        V0[:-1] + "0",
        V1[:-2],
        "bafy",
        "x" * 600,
        f" {V1}",
        "/ipns/" + V1,
        "b" + "a" * 40,
    ],
)
def test_not_cids(text: str) -> None:
    with pytest.raises(CIDError):
        parse_cid(text)


def test_a_path_into_a_cid_says_sub_paths_are_not_supported() -> None:
    with pytest.raises(CIDError, match=f"is a path into {V1}: sub-paths are not supported"):
        parse_cid(f"/ipfs/{V1.upper()}/photos/cat.jpg")
