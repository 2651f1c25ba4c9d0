"""Salesforce record Ids: 15 case-sensitive characters plus a 3-character case-safe suffix.

The first three characters are the sObject's key prefix (``001`` Account, ``003`` Contact,
``005`` User). The suffix encodes which of the 15 characters are upper-case letters, five at a
time (SOAP API Developer Guide, "Field Types: ID",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm).
"""

from __future__ import annotations

import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def case_safe_id(id15: str) -> str:
    """The 18-character form of a 15-character Id.

    Raises:
        ValueError: ``id15`` is not 15 alphanumeric characters.
    """
    if len(id15) != 15 or not id15.isalnum():
        raise ValueError(f"not a 15-character Salesforce Id: {id15!r}")
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if char.isupper())
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def make_id(key_prefix: str, pod: str, number: int) -> str:
    """An 18-character Id: key prefix, 2-character pod, ``0``, then ``number`` in base 62."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return case_safe_id(f"{key_prefix}{pod}0{digits.rjust(9, '0')}")


def same_id(left: str, right: str) -> bool:
    """True when two Ids name one record (15- and 18-character forms compare equal)."""
    return len(left) in (15, 18) and len(right) in (15, 18) and left[:15] == right[:15]
