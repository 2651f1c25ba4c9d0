"""Throwaway PostgreSQL and Redis servers on loopback for the backend tests (no mocks).

:func:`start_postgres` runs ``initdb`` and ``pg_ctl`` (PostgreSQL 15; as the ``postgres`` user
when the tests run as root, since initdb refuses root) in a temporary directory that user owns,
on a free port, with its unix socket in that directory and password authentication.
:func:`start_redis` runs ``redis-server`` on a free port with a password and no persistence.
Each returns a server whose ``url`` a client connects to and whose ``stop()`` removes everything.
When a server cannot be started, :class:`ServerMissing` says in one line what is missing and how
to install it (``.ci/run`` installs both from Debian's packages).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "throwaway-test-password"
PG_USER = "postgres"
STARTUP_SECONDS = 30.0


class ServerMissing(Exception):
    """A test server could not be started; the message says what is missing and how to install it."""


@dataclass
class Server:
    """A running server: ``url`` to connect to, ``stop()`` to stop it and remove its files."""

    url: str
    directory: Path
    stop_command: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        try:
            self.stop_command()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise ServerMissing(
            f"PostgreSQL's {name} is not installed (looked in PATH and /usr/lib/postgresql/*/bin): "
            "apt-get install -y postgresql"
        )
    return found


def _run(command: list[str], user: str | None, what: str) -> None:
    done = subprocess.run(command, user=user, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ServerMissing(f"{what} failed (exit {done.returncode}): {last[0]}")


def _postgres_user() -> str | None:
    """The user to run PostgreSQL as: ``postgres`` (created if missing) when running as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", PG_USER], None, f"creating the {PG_USER} user")
    return PG_USER


def start_postgres() -> Server:
    """Start a throwaway PostgreSQL server; its URL carries the password (scram-sha-256)."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    user = _postgres_user()
    directory = Path(tempfile.mkdtemp(prefix="syncfw-pg-"))
    if user is not None:
        os.chown(directory, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    data, port = directory / "data", free_port()
    password_file = directory / "password"
    password_file.write_text(PASSWORD)
    if user is not None:
        os.chown(password_file, pwd.getpwnam(user).pw_uid, -1)
    try:
        _run(
            [initdb, "-D", str(data), "-U", PG_USER, "--auth=scram-sha-256", f"--pwfile={password_file}"],
            user,
            "initdb",
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={directory} -c fsync=off"
        )
        log = directory / "server.log"
        _run(
            [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start"],
            user,
            "pg_ctl start",
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise

    def stop() -> None:
        _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], user, "pg_ctl stop")

    return Server(f"postgresql://{PG_USER}:{PASSWORD}@127.0.0.1:{port}/postgres", directory, stop)


def start_redis() -> Server:
    """Start a throwaway ``redis-server`` (no persistence) with a password."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerMissing("redis-server is not installed: apt-get install -y redis-server")
    directory = Path(tempfile.mkdtemp(prefix="syncfw-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    command += ["--save", "", "--appendonly", "no", "--requirepass", PASSWORD]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            shutil.rmtree(directory, ignore_errors=True)
            raise ServerMissing(f"redis-server exited at start (exit {process.returncode}) on port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        if time.monotonic() > deadline:
            process.kill()
            shutil.rmtree(directory, ignore_errors=True)
            raise ServerMissing(f"redis-server did not listen on port {port} within {STARTUP_SECONDS:g} s")
        time.sleep(0.05)

    def stop() -> None:
        process.terminate()
        process.wait(10)

    return Server(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", directory, stop)
