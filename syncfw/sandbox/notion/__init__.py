"""A local emulator of the Notion API, Notion-Version 2025-09-03 (databases with data sources).

It answers the endpoints syncfw and notion-client use (users, databases, data sources and
their queries, pages and page properties, search, block delete) with the status codes, error
bodies, limits, pagination, trash semantics and response shapes recorded from the real service
in ``shared/reference/notion`` (API-FACTS.md and the notion-sdk-py cassettes). It persists to
SQLite, throttles like Notion (429 with ``Retry-After``), can add latency and inject faults, and
lets tests act as a person editing in the Notion app.

Modules, one concept each:

* :mod:`.emulator`: :class:`NotionEmulator`, the entry point;
* :mod:`.app`: HTTP routing, headers, auth, rate limiting, ``/_emulator/`` routes;
* :mod:`.controls`, :mod:`.ratelimit`: knobs, faults, statistics, the token bucket;
* :mod:`.workspace`, :mod:`.store`, :mod:`.model`: state, persistence, records;
* :mod:`.users`, :mod:`.databases`, :mod:`.pages`, :mod:`.search`, :mod:`.humans`: endpoints;
* :mod:`.schema`, :mod:`.values`, :mod:`.richtext`, :mod:`.query`: property configs, property
  values, rich text, filters and sorts;
* :mod:`.render`, :mod:`.ids`, :mod:`.timestamps`, :mod:`.errors`: response shapes, identifiers,
  time formats, error bodies.
"""

from .emulator import NotionEmulator
from .errors import NotionAPIError

__all__ = ["NotionAPIError", "NotionEmulator"]
