"""HTTP over a unix socket, for a Kubo whose RPC API listens on ``/unix/<path>``.

On a member whose pins an IPFS Cluster holds, Kubo's API cannot ask for a token (the
cluster's connector sends none), so it listens on a socket instead of a TCP port: the
socket's permissions, not a secret, keep other local users off it. A requests adapter
that connects every request to that socket lets the client stay the same otherwise.
"""

import socket
from typing import Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool
from urllib3.connection import HTTPConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

# The host of the URLs a unix-socket client builds: Kubo reads only the path.
HOST = "localhost"


class _Connection(HTTPConnection):
    def __init__(self, *args: Any, socket_path: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket_path = socket_path

    def _new_conn(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(self, f"{self.socket_path}: timed out") from exc
        except OSError as exc:
            sock.close()
            raise NewConnectionError(self, f"{self.socket_path}: {exc.strerror or exc}") from exc
        return sock


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class UnixSocketAdapter(HTTPAdapter):
    """Sends every request to the HTTP server on ``path``, whatever the URL's host."""

    def __init__(self, path: str, pool_size: int) -> None:
        super().__init__(pool_connections=1, pool_maxsize=pool_size)
        self.pool = _Pool(HOST, maxsize=pool_size, block=False, socket_path=path)

    def get_connection_with_tls_context(
        self,
        request: PreparedRequest,
        verify: bool | str | None,
        proxies: Any = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        return self.pool

    def close(self) -> None:
        self.pool.close()
        super().close()
