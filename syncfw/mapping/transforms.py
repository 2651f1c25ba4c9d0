"""The built-in value transforms, registered like a plugin's (``register_transforms`` hook).

A transform receives the current value followed by the arguments written in the mapping
(``transforms: [lower, {truncate: 80}, {replace: [" Inc.", ""]}]``) and returns the new value.
Every built-in passes None through unchanged and raises ``ValueError`` with a short reason for a
value it cannot handle; the record is then reported instead of synced.
"""

from __future__ import annotations

import builtins
import functools
import ipaddress
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from syncfw.hookspecs import hookimpl


def _string(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} expects text, got {type(value).__name__}")
    return str(value)


def lower(value: Any) -> Any:
    """Lowercase text."""
    return None if value is None else _string(value, "lower").lower()


def upper(value: Any) -> Any:
    """Uppercase text."""
    return None if value is None else _string(value, "upper").upper()


def strip(value: Any) -> Any:
    """Remove leading and trailing whitespace."""
    return None if value is None else _string(value, "strip").strip()


def url(value: Any) -> Any:
    """Make a bare domain a URL: ``www.example.com`` → ``https://www.example.com``."""
    if value is None:
        return None
    text = _string(value, "url").strip()
    if not text or "://" in text or text.startswith(("mailto:", "tel:")):
        return text
    return f"https://{text}"


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # the copy of the list bundled with the package: a run never fetches it
    return PublicSuffixList()


def domain(value: Any) -> Any:
    """The registrable domain of an email address, URL or host name, lowercased: the public
    suffix (``com``, ``co.uk``, ``github.io``) with the one label before it, so that addresses of
    one organisation match whatever their subdomain.

    ``Ada@Mail.Example.COM`` → ``example.com``; ``https://www.acme.co.uk/about`` and
    ``mail.acme.co.uk`` → ``acme.co.uk``; ``ada.github.io`` → ``ada.github.io``. A host that has
    no registrable domain (``localhost``, an IP address, a bare suffix such as ``co.uk``) is kept
    as it is. Suffixes come from the Public Suffix List (https://publicsuffix.org/list/, ICANN and
    private sections), as bundled with the ``publicsuffixlist`` package.
    """
    if value is None:
        return None
    text = _string(value, "domain").strip().lower()
    if not text:
        return None
    if "@" in text and "://" not in text:
        host = text.rsplit("@", 1)[1]
    else:
        host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    host = host.rstrip(".")
    if not host:
        return None
    if _is_ip_address(host):
        return host
    registrable: str | None = _public_suffixes().privatesuffix(host)
    return registrable or host


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split(value: Any, sep: str = ",") -> Any:
    """Split text into a list of trimmed, non-empty items (``A;B`` with ``{split: ";"}``)."""
    if value is None:
        return None
    return [item.strip() for item in _string(value, "split").split(sep) if item.strip()]


def join(value: Any, sep: str = ", ") -> Any:
    """Join a list into text; None items are skipped."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        return _string(value, "join")
    return sep.join(_string(item, "join") for item in value if item is not None)


def truncate(value: Any, length: int) -> Any:
    """Keep the first ``length`` characters of text."""
    return None if value is None else _string(value, "truncate")[:length]


def round_(value: Any, digits: int = 0) -> Any:
    """Round a number to ``digits`` decimals (0: an integer)."""
    if value is None:
        return None
    number = float_(value)
    return builtins.round(number) if digits == 0 else builtins.round(number, digits)


def int_(value: Any) -> Any:
    """Convert to an integer (``"42"`` → 42, ``4.0`` → 4); a fractional number is an error."""
    if value is None:
        return None
    number = float_(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return builtins.int(number)


def float_(value: Any) -> Any:
    """Convert to a float (``"3.5"`` → 3.5)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        return builtins.float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


def _parse_datetime(value: Any, name: str) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    text = _string(value, name).strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time") from None


def date_(value: Any) -> Any:
    """Parse to a date (a date-time keeps its date part in its own zone)."""
    if value is None or value == "":
        return None
    parsed = _parse_datetime(value, "date")
    return parsed.date() if isinstance(parsed, datetime) else parsed


def datetime_(value: Any) -> Any:
    """Parse an ISO 8601 date-time (``2026-05-01T07:25:37.000+0000``, ``…Z``) to a datetime."""
    if value is None or value == "":
        return None
    return _parse_datetime(value, "datetime")


def prefix(value: Any, text: str) -> Any:
    """Put ``text`` before the value."""
    return None if value is None else text + _string(value, "prefix")


def suffix(value: Any, text: str) -> Any:
    """Put ``text`` after the value."""
    return None if value is None else _string(value, "suffix") + text


def replace(value: Any, old: str, new: str) -> Any:
    """Replace every ``old`` with ``new`` (``{replace: [" Inc.", ""]}``)."""
    return None if value is None else _string(value, "replace").replace(old, new)


BUILTIN_TRANSFORMS: dict[str, Callable[..., Any]] = {
    "lower": lower,
    "upper": upper,
    "strip": strip,
    "url": url,
    "domain": domain,
    "split": split,
    "join": join,
    "truncate": truncate,
    "round": round_,
    "int": int_,
    "float": float_,
    "date": date_,
    "datetime": datetime_,
    "prefix": prefix,
    "suffix": suffix,
    "replace": replace,
}


@hookimpl
def register_transforms(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the built-in transforms under their mapping names."""
    for name, function in BUILTIN_TRANSFORMS.items():
        register(name, function)
