"""What every command shares: the plugin registry, ``--env-file``, loading recipes, option types."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from dotenv import dotenv_values
from rich.markup import escape

from syncfw.cli.console import err
from syncfw.errors import ConfigError
from syncfw.plugins import Registry, load_plugins
from syncfw.regular_files import SECRET, read_regular

if TYPE_CHECKING:
    from syncfw.recipe import Recipe

F = TypeVar("F", bound=Callable[..., Any])


def registry(*, every: bool = False) -> Registry:
    """The installed plugins, each imported when the command first needs what it provides (all of
    them now with ``every``); a plugin that cannot be loaded is a warning on stderr."""
    return load_plugins(on_demand=not every, report=_plugin_warning)


def _plugin_warning(problem: str) -> None:
    err.print(f"[yellow]warning:[/] plugin: {escape(problem)}")


CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
"""The variables naming a CA file that clients trust (httpx and the ``ssl`` module read
``SSL_CERT_FILE``, requests ``REQUESTS_CA_BUNDLE``): the sandbox's env file sets both."""


def load_env(env_file: Path | None) -> None:
    """Read ``NAME=value`` lines into the environment: ``env_file`` (``--env-file``, or the file
    ``SYNCFW_ENV_FILE`` names), never replacing a variable that is already set (python-dotenv's
    ``override=False``, the convention of docker compose and most twelve-factor tools), except that
    a CA file (:data:`CA_VARIABLES`) is added to the one already set rather than ignored. Then
    check that a CA file the environment names exists (a client would fail deep inside its TLS
    set-up).

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8 or larger than a secret file; or
            ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE`` names a file that does not exist.
    """
    if env_file is not None:
        try:
            text = read_regular(env_file, SECRET).decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{env_file}: env file not found (start the sandbox with `syncfw sandbox serve`)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise ConfigError(f"{env_file}: cannot read the env file: {reason}") from None
        for key, value in dotenv_values(stream=io.StringIO(text)).items():
            if value is None:
                continue
            if key in CA_VARIABLES:
                _check_ca_file(key, value, f"; {env_file} sets it")
                if os.environ.get(key, value) != value:
                    value = _trusting_both(os.environ[key], value)
                os.environ[key] = value
            else:
                os.environ.setdefault(key, value)
    for name in CA_VARIABLES:
        if os.environ.get(name):
            _check_ca_file(name, os.environ[name], "")


def _trusting_both(existing: str, added: str) -> str:
    """A CA bundle holding the certificates of ``existing`` and ``added`` (written next to
    ``added``), or ``existing`` when it is missing (reported by the check that follows).

    A CA variable is a set of roots to trust: a machine that sets ``SSL_CERT_FILE`` for its own
    (corporate) roots keeps trusting them, and the sandbox's CA is trusted too.
    """
    first, second = Path(existing), Path(added)
    if not first.is_file():
        return existing
    content = first.read_bytes().rstrip(b"\n") + b"\n" + second.read_bytes()
    bundle = second.with_name(f"trust-{hashlib.sha256(content).hexdigest()[:16]}.pem")
    if not bundle.is_file():
        partial = bundle.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(content)
        partial.replace(bundle)  # atomic: another command may be writing the same bundle
    return str(bundle)


def _check_ca_file(name: str, value: str, origin: str) -> None:
    path = Path(value)
    if path.is_file():
        return
    place = "" if path.is_absolute() else f" (relative to the working directory {Path.cwd()})"
    raise ConfigError(
        f"{name}={value}: the CA file does not exist{place}{origin}. Point {name} at an existing file, "
        "or unset it (a sandbox's env file names its CA file: restart `syncfw sandbox serve` to write "
        "it again)"
    )


def env_file_option(fn: F) -> F:
    return click.option(
        "--env-file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="SYNCFW_ENV_FILE",
        show_envvar=True,
        help="Read NAME=value lines into the environment first, never replacing a variable already "
        "set (e.g. the sandbox's env file). A .env file next to the recipe is read too.",
    )(fn)


def sandbox_env_file_option(fn: F) -> F:
    """``--env-file`` of the sandbox commands: the file ``syncfw sandbox serve`` writes (by
    default, or the one ``SYNCFW_ENV_FILE`` names)."""
    return click.option(
        "--env-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=Path(".syncfw/sandbox.env"),
        envvar="SYNCFW_ENV_FILE",
        show_envvar=True,
        show_default=True,
    )(fn)


def load_recipe(path: Path, plugins: Registry, *, check_env: bool = True) -> Recipe:
    """The recipe at ``path``, checked with the plugins, after reading the ``.env`` file next to it
    (if there is one) as :func:`load_env` reads an env file: variables already set win. Without
    ``check_env`` unset variables are no problem (``syncfw validate``)."""
    from syncfw.recipe import load_recipe as load

    read_dotenv(path)
    return load(path, registry=plugins, check_env=check_env)


def read_dotenv(recipe: Path) -> None:
    """Read the ``.env`` file in ``recipe``'s directory, if any, without replacing a variable."""
    dotenv = recipe.parent / ".env"
    if dotenv.is_file():
        load_env(dotenv)


def offline_recipes(path: Path) -> list[Recipe]:
    """The recipe at ``path``, or every recipe in the directory, read without the plugins."""
    from syncfw.health.inventory import load_offline, recipe_paths

    paths = recipe_paths(path)
    for recipe in paths:
        read_dotenv(recipe)
    return [load_offline(p) for p in paths]


def recipes_argument(fn: F) -> F:
    return click.argument(
        "path",
        required=False,
        default=Path("recipes"),
        type=click.Path(path_type=Path, exists=True),
    )(fn)


class _Rate(click.types.FloatParamType):
    """Requests per second: a finite number that :func:`~syncfw.recipe.schema.rate_problem` accepts
    (from one a day to 10,000 a second)."""

    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        # imported when a rate is parsed: `--help` does not load the recipe package (YAML, models)
        from syncfw.recipe.schema import rate_problem

        rate = super().convert(value, param, ctx)
        problem = rate_problem(rate)
        if problem is not None:
            self.fail(problem, param, ctx)
        return rate


RATE = _Rate()
