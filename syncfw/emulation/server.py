"""Serving an ASGI emulator on 127.0.0.1, over HTTP or HTTPS, from a background thread.

Emulators are Starlette apps served by uvicorn. HTTPS uses a private certificate authority made
with trustme and kept in the sandbox state directory, so restarts keep the same CA file and a
client configured once (``REQUESTS_CA_BUNDLE`` for requests-based clients, ``SSL_CERT_FILE`` for
httpx) keeps trusting the emulators.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
import uvicorn


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for serving HTTPS on 127.0.0.1.

    Attributes:
        ca_file: the CA certificate clients must trust.
        cert_file: the server certificate chain (for ``127.0.0.1`` and ``localhost``).
        key_file: the server's private key.
    """

    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def in_dir(cls, directory: Path) -> TLSFiles:
        """Load the CA and server certificate from ``directory``, creating them on first use."""
        directory.mkdir(parents=True, exist_ok=True)
        files = cls(directory / "ca.pem", directory / "server-chain.pem", directory / "server-key.pem")
        if not (files.ca_file.exists() and files.cert_file.exists() and files.key_file.exists()):
            ca = trustme.CA(organization_name="syncfw sandbox")
            cert = ca.issue_cert("127.0.0.1", "localhost")
            ca.cert_pem.write_to_path(str(files.ca_file))
            cert.private_key_pem.write_to_path(str(files.key_file))
            chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
            files.cert_file.write_bytes(chain)
        return files


class ServedApp:
    """An ASGI app served by uvicorn in a daemon thread.

    Attributes:
        url: the base URL, e.g. ``https://127.0.0.1:53211`` (no trailing slash).
    """

    def __init__(self, app: Any, *, tls: TLSFiles | None = None, port: int = 0) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls.cert_file) if tls else None,
            ssl_keyfile=str(tls.key_file) if tls else None,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="syncfw-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        sock = self._server.servers[0].sockets[0]
        self.port: int = sock.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self) -> None:
        """Stop accepting requests and wait for the server thread to end."""
        self._server.should_exit = True
        # idle keep-alive connections of clients (requests pools them) would hold a graceful
        # shutdown open; an emulator has nothing in flight worth waiting for
        self._server.force_exit = True
        self._thread.join(timeout=10)
