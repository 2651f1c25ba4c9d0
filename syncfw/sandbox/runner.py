"""The sandbox: the Notion emulator plus every installed connector's emulator, on 127.0.0.1.

``syncfw sandbox serve`` and ``syncfw demo`` use :class:`Sandbox`. It seeds each connector's
emulator from ``DATA_DIR/<connector>/`` (by default from the sample data the connector ships,
:attr:`SourceEmulator.seed_data <syncfw.connector.SourceEmulator.seed_data>`), keeps Notion's
content in ``STATE_DIR`` across restarts, and writes an env file with everything a recipe needs
to reach the emulators unchanged: ``NOTION_TOKEN``, ``NOTION_BASE_URL``, ``NOTION_PARENT_PAGE_ID``,
``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` (the sandbox CA) and each connector's own variables
(e.g. ``SALESFORCE_INSTANCE_URL``, ``SALESFORCE_SESSION_ID``). Paths in it are absolute, so the
file works from any working directory.

Every emulator is served over HTTPS with one CA, Notion's included: api.notion.com is HTTPS only,
and notion-client's TLS set-up (httpx reading ``SSL_CERT_FILE``) is then the one users run.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path

from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.emulation import ServedApp, TLSFiles
from syncfw.plugins import Registry
from syncfw.sandbox.notion import NotionEmulator
from syncfw.sandbox.notion.controls import QUERY_CAP


class Sandbox:
    """Emulators started together.

    Args:
        state_dir: where Notion content, the CA and the sandbox token are kept (made absolute).
        data_dir: seed data root (``<connector>/<Object>.json``); None seeds each emulator with
            the sample data its connector ships (``seed_data``).
        registry: the loaded plugins (their ``register_emulators`` provide source emulators).
        notion_rate_limit: the Notion emulator's limit in requests per second (None: unlimited).
        notion_latency: seconds added to every Notion emulator response.
        notion_faults: a fault plan for the Notion emulator (see :mod:`syncfw.emulation.faults`),
            e.g. ``"429=0.05,5xx=0.05,lost=0.02,retry_after=0"``; source emulators get theirs
            through ``options["faults"]``.
        notion_query_cap: results one Notion data source query returns at most (Notion's
            10,000 by default; a small cap lets a test read past it in ``created_time`` windows).
        options: passed to every source emulator (e.g. ``{"bulk": "3000"}``).
    """

    def __init__(
        self,
        state_dir: Path,
        registry: Registry,
        *,
        data_dir: Path | None = None,
        notion_rate_limit: float | None = None,
        notion_latency: float = 0.0,
        notion_faults: str | None = None,
        notion_query_cap: int = QUERY_CAP,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.data_dir = data_dir
        self.registry = registry
        self.notion_rate_limit = notion_rate_limit
        self.notion_latency = notion_latency
        self.notion_faults = notion_faults
        self.notion_query_cap = notion_query_cap
        self.options = dict(options or {})
        self.env: dict[str, str] = {}
        self.notion: NotionEmulator | None = None
        self._served: list[ServedApp] = []
        self._emulators: list[SourceEmulator] = []

    def _token(self) -> str:
        path = self.state_dir / "sandbox.json"
        if path.exists():
            return str(json.loads(path.read_text())["notion_token"])
        token = "ntn_sandbox_" + secrets.token_hex(16)
        path.write_text(json.dumps({"notion_token": token}))
        return token

    def start(self) -> dict[str, str]:
        """Start every emulator; return the environment a recipe needs (also kept in ``env``)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tls = TLSFiles.in_dir(self.state_dir / "tls")
        token = self._token()
        self.notion = NotionEmulator(
            self.state_dir / "notion",
            token=token,
            rate_limit=self.notion_rate_limit,
            latency=self.notion_latency,
            faults=self.notion_faults,
            query_cap=self.notion_query_cap,
        )
        served = ServedApp(self.notion.app, tls=tls)
        self._served.append(served)
        env = {
            "NOTION_TOKEN": token,
            "NOTION_BASE_URL": served.url,
            "NOTION_PARENT_PAGE_ID": self.notion.parent_page_id,
            "REQUESTS_CA_BUNDLE": str(tls.ca_file),
            "SSL_CERT_FILE": str(tls.ca_file),
        }
        for name, cls in sorted(self.registry.emulators.items()):
            emulator = cls()
            seed = cls.seed_data if self.data_dir is None else self.data_dir / name
            context = EmulatorContext(
                data_dir=seed if seed is not None and seed.is_dir() else None,
                state_dir=self.state_dir / name,
                tls=tls,
                options=self.options,
            )
            context.state_dir.mkdir(parents=True, exist_ok=True)
            env.update(emulator.start(context))
            self._emulators.append(emulator)
        self.env = env
        return env

    def emulator(self, name: str) -> SourceEmulator:
        """The running emulator of connector ``name`` (to drive its source as a person or a
        clock would: seed edits, deletes, time passing).

        Raises:
            KeyError: no emulator of that name is running.
        """
        for emulator in self._emulators:
            if emulator.name == name:
                return emulator
        raise KeyError(f"no {name} emulator is running in this sandbox")

    def write_env(self, path: Path) -> None:
        """Write ``env`` as ``NAME=value`` lines (readable by ``--env-file`` and by shells)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in sorted(self.env.items())]
        path.write_text("\n".join(lines) + "\n")

    def stop(self) -> None:
        """Stop every emulator."""
        for emulator in self._emulators:
            emulator.stop()
        for served in self._served:
            served.stop()
        if self.notion is not None:
            self.notion.close()
        self._emulators.clear()
        self._served.clear()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
