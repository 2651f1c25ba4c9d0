"""What every command shares: the plugin registry, ``--env-file``, loading recipes, option types."""

from __future__ import annotations

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
        # imported when a rate is parsed: `--help` does not load the recipe package (YAML, models)
        from syncfw.recipe.schema import rate_problem

        rate = super().convert(value, param, ctx)
        problem = rate_problem(rate)
        if problem is not None:
            self.fail(problem, param, ctx)
        return rate


RATE = _Rate()
