"""The built-in transforms, registered through the same hook as a plugin's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from syncfw.mapping.transforms import BUILTIN_TRANSFORMS
from syncfw.plugins import load_plugins


def test_builtins_are_registered_through_the_plugin_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "")  # no third-party plugin: built-ins still load
    registry = load_plugins()
    assert registry.transforms == BUILTIN_TRANSFORMS
    assert set(registry.plugins[0].transforms) == set(BUILTIN_TRANSFORMS)


@pytest.mark.parametrize(
    ("name", "value", "args", "result"),
    [
        ("lower", "AcMe", (), "acme"),
        ("upper", "acme", (), "ACME"),
        ("strip", "  acme \n", (), "acme"),
        ("url", "www.example.com", (), "https://www.example.com"),
        ("url", "http://example.com/x", (), "http://example.com/x"),
        ("domain", "Ada@Mail.Example.COM", (), "example.com"),
        ("domain", "https://WWW.Example.com/about?x=1", (), "example.com"),
        ("domain", "www.example.com", (), "example.com"),
        # the Public Suffix List: mail.acme.co.uk matches acme.co.uk (issue 17)
        ("domain", "mail.acme.co.uk", (), "acme.co.uk"),
        ("domain", "grace@eu.mail.acme.co.uk", (), "acme.co.uk"),
        ("domain", "https://www.acme.co.uk/about", (), "acme.co.uk"),
        ("domain", "ada.github.io", (), "ada.github.io"),  # a private suffix: one site per user
        ("domain", "localhost", (), "localhost"),
        ("domain", "http://127.0.0.1:8080/", (), "127.0.0.1"),
        ("split", "a; b;;c", (";",), ["a", "b", "c"]),
        ("join", ["a", None, "b"], (" | ",), "a | b"),
        ("truncate", "abcdef", (3,), "abc"),
        ("round", 2.567, (1,), 2.6),
        ("round", "2.5", (), 2),
        ("int", "42", (), 42),
        ("float", " 3.5 ", (), 3.5),
        ("date", "2026-05-01T23:30:00-07:00", (), date(2026, 5, 1)),
        ("datetime", "2026-05-01T07:25:37.000+0000", (), datetime(2026, 5, 1, 7, 25, 37, tzinfo=UTC)),
        ("prefix", "42", ("SF-",), "SF-42"),
        ("suffix", "acme", (".com",), "acme.com"),
        ("replace", "Acme Inc.", (" Inc.", ""), "Acme"),
    ],
)
def test_builtin(name: str, value: Any, args: tuple[Any, ...], result: Any) -> None:
    assert BUILTIN_TRANSFORMS[name](value, *args) == result


@pytest.mark.parametrize("name", sorted(BUILTIN_TRANSFORMS))
def test_none_passes_through(name: str) -> None:
    args = {"truncate": (3,), "prefix": ("x",), "suffix": ("x",), "replace": ("a", "b")}.get(name, ())
    assert BUILTIN_TRANSFORMS[name](None, *args) is None


@pytest.mark.parametrize(
    ("name", "value"), [("lower", {"a": 1}), ("int", "4.5"), ("float", True), ("date", "yesterday")]
)
def test_bad_values_raise_value_error(name: str, value: Any) -> None:
    with pytest.raises(ValueError):
        BUILTIN_TRANSFORMS[name](value)
