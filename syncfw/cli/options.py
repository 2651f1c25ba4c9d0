"""What every command shares: the plugin registry, ``--env-file``, loading recipes, option types."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from dotenv import dotenv_values

from syncfw.cli.render import err
from syncfw.errors import ConfigError, PluginWarning
from syncfw.plugins import Registry, load_plugins
from syncfw.recipe import Recipe
from syncfw.recipe.schema import rate_problem
from syncfw.regular_files import SECRET, read_regular

F = TypeVar("F", bound=Callable[..., Any])


def registry() -> Registry:
    """The installed plugins; a plugin that could not be loaded is a warning on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        loaded = load_plugins()
    for w in caught:
        err.print(f"[yellow]warning:[/] plugin: {w.message}")
    return loaded


def load_env(env_file: Path | None) -> None:
    """Put the ``NAME=value`` lines of ``env_file`` into the environment (nothing for None).

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8 or larger than a secret file.
    """
    if env_file is None:
        return
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
        if value is not None:
            os.environ[key] = value


def env_file_option(fn: F) -> F:
    return click.option(
        "--env-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Read NAME=value lines into the environment first (e.g. the sandbox's env file).",
    )(fn)


def sandbox_env_file_option(fn: F) -> F:
    """``--env-file`` of the sandbox commands: the file ``syncfw sandbox serve`` writes by default."""
    return click.option(
        "--env-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=Path(".syncfw/sandbox.env"),
        show_default=True,
    )(fn)


def load_recipe(path: Path, plugins: Registry) -> Recipe:
    from syncfw.recipe import load_recipe as load

    return load(path, registry=plugins)


def offline_recipes(path: Path) -> list[Recipe]:
    """The recipe at ``path``, or every recipe in the directory, read without the plugins."""
    from syncfw.health.inventory import load_offline, recipe_paths

    return [load_offline(p) for p in recipe_paths(path)]


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
        rate = super().convert(value, param, ctx)
        problem = rate_problem(rate)
        if problem is not None:
            self.fail(problem, param, ctx)
        return rate


RATE = _Rate()
