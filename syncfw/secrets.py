"""Secrets in text: finding the secret values a configuration holds, and hiding them.

Error messages of syncfw are secret-free by contract; this is the second lock on the door for text
that quotes what a library or a service said (an HTTP header, a URL) before it reaches the terminal,
a plan file, the state store, a Notion row or a chat message. One rule holds everywhere: a value (or
a line or escaped form of it) shorter than :data:`SHORTEST_SECRET` characters is not hidden, because
so short a string also occurs in ordinary words and numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

SHORTEST_SECRET = 4
"""Characters: a secret form shorter than this is left in the text (it would mangle ordinary text)."""


def secret_values(value: Any, *, plain: bool = False) -> list[str]:
    """Every :class:`~pydantic.SecretStr` and :class:`~pydantic.SecretBytes` value (bytes decoded
    as UTF-8) inside ``value``: a pydantic model, a dict, a list or tuple, nested to any depth.

    With ``plain``, every ``str`` counts too: a connector config read without its plugin is a plain
    dict whose secret fields are unknown.
    """
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, SecretBytes):
        return [value.get_secret_value().decode(errors="replace")]
    if isinstance(value, BaseModel):
        return [
            s for name in type(value).model_fields for s in secret_values(getattr(value, name), plain=plain)
        ]
    if isinstance(value, dict):
        return [s for item in value.values() for s in secret_values(item, plain=plain)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in secret_values(item, plain=plain)]
    if plain and isinstance(value, str):
        return [value]
    return []


def hide(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``: as it is, line by line, and as reprs show
    it (``b'Bearer …\\n'`` in httpx's "Illegal header value", ``\\xe9`` and ``\\u2019`` escapes),
    so that an exception message that quotes a malformed credential cannot carry it. Forms shorter
    than :data:`SHORTEST_SECRET` characters (after stripping spaces) are left as they are."""
    forms: set[str] = set()
    for secret in secrets:
        escaped = (repr(secret)[1:-1], ascii(secret)[1:-1], repr(secret.encode())[2:-1])
        for form in (secret, *secret.splitlines(), *escaped):
            if len(form.strip()) >= SHORTEST_SECRET:
                forms.add(form.strip())
    if not forms:
        return text
    pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, "***", text)
