"""A local emulator of the Notion API, Notion-Version 2025-09-03 (databases with data sources).

It answers the endpoints syncfw and notion-client use (users, databases, data sources and
their queries, pages and page properties, search, block delete) with the status codes, error
bodies, limits, pagination, trash semantics and response shapes recorded from the real service
in ``shared/reference/notion`` (API-FACTS.md and the notion-sdk-py cassettes). It persists to
SQLite, throttles like Notion (429 with ``Retry-After``), can add latency and inject faults, and
lets tests act as a person editing in the Notion app.

Limits of the real service it enforces, on by default (knobs make them smaller for tests):

* **query result cap**: one data source query (filter + sorts) returns at most 10,000 results;
  past that ``has_more: false`` and every page carries ``request_status`` ``incomplete`` /
  ``query_result_limit_reached`` (knob ``query_cap``; developers.notion.com "Query a data
  source" § Pagination limit, guide "Query large data sources"); ``created_time`` filters
  compare the minute a page shows (:mod:`.timestamps`), so reads in ``created_time`` windows
  work as the guide describes;
* **request payload limit**: a ``/v1/`` request body over 500KB (500,000 bytes as sent) is
  answered 400 ``validation_error`` (DOC request-limits, API-FACTS §3);
* **late commits** (a fault, off by default like every fault): a write answered 504 or timed
  out is committed seconds later (``--notion-faults late_commit=P,late_commit_after=S``, or
  ``inject_fault(..., commit_after=S)``; developers.notion.com "Status codes": requests run up
  to a 60 s maximum and may answer 503/504; no idempotency keys);
* **529 with Retry-After**: ``service_overload`` answers (faults) carry ``Retry-After``, 1 s by
  default (``overload_retry_after=N|none``, ``inject_fault(..., retry_after=N)``; DOC
  request-limits: handle 429 and 529 and respect ``Retry-After``; no value is documented);
* **long relations and people**: page objects (retrieve and query results) list at most 25
  (relations add ``has_more: true``); ``GET /v1/pages/{id}/properties/{property_id}`` pages
  through all of them (``page_size`` ≤ 100, ``next_cursor``); a request setting more than 100
  is refused 400; a relation value sent with ``has_more: true`` is refused 400
  ``invalid_request`` (DOC request-limits, retrieve-a-page-property, patch-page; API-FACTS §3,
  §4.4; see :mod:`.pages`).

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
