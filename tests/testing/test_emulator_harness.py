"""Seed data a connector ships (``SourceEmulator.seed_data``) and the harness base that runs an
emulator on a copy of it (``syncfw.testing.EmulatorHarness``), as a third party uses them."""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from syncfw import Checkpoint, Connector, EmulatorContext, Record, SourceEmulator, StreamSpec
from syncfw.emulation import ServedApp
from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox
from syncfw.testing import EmulatorHarness, copy_seed_data

SHIPPED = [{"id": "s1", "name": "shipped thing"}]


@pytest.fixture
def things(tmp_path: Path) -> Iterator[type[SourceEmulator]]:
    """An emulator serving ``/items`` from ``items.json`` of its data dir, with seed data shipped
    in ``tmp_path/package/seed``."""
    shipped = tmp_path / "package" / "seed"
    shipped.mkdir(parents=True)
    (shipped / "items.json").write_text(json.dumps(SHIPPED))

    class ThingsEmulator(SourceEmulator):
        name = "things"
        seed_data = shipped

        def start(self, context: EmulatorContext) -> dict[str, str]:
            seed = context.data_dir / "items.json" if context.data_dir else None

            async def items(request: Request) -> JSONResponse:
                return JSONResponse(json.loads(seed.read_text()) if seed else [])

            self._served = ServedApp(Starlette(routes=[Route("/items", items)]), tls=context.tls)
            return {"THINGS_URL": self._served.url, "THINGS_REGION": "eu"}

        def stop(self) -> None:
            self._served.stop()

    yield ThingsEmulator


def items(url: str, ca_file: str) -> Any:
    with urllib.request.urlopen(f"{url}/items", context=ssl.create_default_context(cafile=ca_file)) as answer:
        return json.load(answer)


def test_the_sandbox_seeds_an_emulator_with_the_data_its_connector_ships(
    tmp_path: Path, things: type[SourceEmulator]
) -> None:
    with Sandbox(tmp_path / "state", Registry(emulators={"things": things})) as box:
        assert items(box.env["THINGS_URL"], box.env["SSL_CERT_FILE"]) == SHIPPED


def test_copy_seed_data_lays_out_what_sandbox_serve_data_reads(
    tmp_path: Path, things: type[SourceEmulator]
) -> None:
    data = copy_seed_data([things], tmp_path / "data")
    edited = [{"id": "e1", "name": "edited thing"}]
    (data / "things" / "items.json").write_text(json.dumps(edited))
    with Sandbox(tmp_path / "state", Registry(emulators={"things": things}), data_dir=data) as box:
        assert items(box.env["THINGS_URL"], box.env["SSL_CERT_FILE"]) == edited
    assert json.loads((tmp_path / "package" / "seed" / "items.json").read_text()) == SHIPPED


class _Unused(Connector):
    name = "things"
    config_model = BaseModel

    def check(self) -> None:
        raise NotImplementedError

    def stream(self, name: str) -> StreamSpec:
        raise NotImplementedError

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        raise NotImplementedError


def test_emulator_harness_runs_the_emulator_on_a_copy_and_restores_the_environment(
    tmp_path: Path, things: type[SourceEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    class ThingsHarness(EmulatorHarness[Any]):
        connector_class = _Unused
        streams = ("items",)
        client_env: ClassVar[tuple[str, ...]] = ("THINGS_REGION",)
        config = fields = add_record = change_record = delete_record = rate_limit_next = None  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__(things)

    monkeypatch.setenv("SSL_CERT_FILE", "/etc/before.pem")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("THINGS_REGION", raising=False)
    harness = ThingsHarness()
    harness.start(tmp_path / "work")
    try:
        assert harness.data_dir == tmp_path / "work" / "things"
        (harness.data_dir / "items.json").write_text(json.dumps([{"id": "k1"}]))
        ca_file = str(tmp_path / "work" / "tls" / "ca.pem")
        assert os.environ["REQUESTS_CA_BUNDLE"] == os.environ["SSL_CERT_FILE"] == ca_file
        assert os.environ["THINGS_REGION"] == "eu"
        assert items(harness.env["THINGS_URL"], ca_file) == [{"id": "k1"}]
    finally:
        harness.stop()
    assert os.environ["SSL_CERT_FILE"] == "/etc/before.pem"
    assert "REQUESTS_CA_BUNDLE" not in os.environ and "THINGS_REGION" not in os.environ
    assert json.loads((tmp_path / "package" / "seed" / "items.json").read_text()) == SHIPPED
    with pytest.raises(RuntimeError, match="not running"):
        harness.emulator  # noqa: B018 - the property raises once stopped
