"""The RPC API's secrets as the kubo role reads them back, and the API.Authorizations
setting made from them."""

from __future__ import annotations

import base64
from typing import Any

# The role's own entry in API.Authorizations, allowed every call.
OWN_CLIENT = "ipfs-consortium"


def kubo_api_secret(slurped: dict[str, Any]) -> str:
    """The secret as the member keeps it (bearer:<token>) from the slurp of its file; an
    empty token where a check-mode run has not written the file yet (the slurp skipped)."""
    content = base64.b64decode(slurped.get("content", "")).decode()
    return content or "bearer:"


def kubo_api_authorizations(
    clients: dict[str, list[str]], secret: str, slurped: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """API.Authorizations: the role's own entry with ``secret``, allowed all of /api/v0,
    then each client of kubo_api_clients (``clients``: name to its RPC paths) with the
    secret of its own file, from the results of the slurp loop over the clients' writes."""
    authorizations = {OWN_CLIENT: {"AuthSecret": secret, "AllowedPaths": ["/api/v0"]}}
    for result in slurped:
        name = result["item"]["item"]
        authorizations[name] = {
            "AuthSecret": kubo_api_secret(result),
            "AllowedPaths": clients[name],
        }
    return authorizations


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "kubo_api_secret": kubo_api_secret,
            "kubo_api_authorizations": kubo_api_authorizations,
        }
