"""Injected faults of emulators (the sandbox's and connectors'): which requests fail, how often, and how.

A :class:`FaultPlan` gives each kind of failure a probability per request; a
:class:`FaultInjector` draws from it with a seeded :class:`random.Random`, so a test run with a
seed fails the same requests every time (given the same order of requests). Each emulator turns
an :class:`Injection` into what its real service sends for that failure.

Kinds, and what they look like on the wire:

==================  ===========================================================================
``rate_limited``    429 (Notion: ``rate_limited``), ``Retry-After`` as :attr:`FaultPlan.retry_after`
``server_error``    500, 502, 503 or 504 with the service's error body
``overload``        529 (Notion: ``service_overload``), ``Retry-After`` as
                    :attr:`FaultPlan.overload_retry_after` (DOC request-limits: *"Connections
                    should handle HTTP 429 and 529 responses and respect the Retry-After
                    response header"*; a 529 is retried *"the same way as a 429"*)
``timeout``         no answer for :attr:`FaultPlan.timeout_seconds`, then the connection is reset;
                    the request is not applied
``reset``           the TCP connection is reset (RST) without an answer; the request is not applied
``lost_response``   writes only: the request is applied and committed, then its answer is lost
                    (reset, 502 or 504, see :attr:`FaultPlan.lost_as`)
``late_commit``     writes only: the request is answered 504 ``gateway_timeout`` or held past the
                    client's timeout and reset (see :attr:`FaultPlan.late_as`), and committed
                    :attr:`FaultPlan.late_commit_after` seconds after that answer, on the
                    emulator's clock (never before the answer). Notion documents that a request
                    may run up to 60 s, its maximum request timeout, and answer 503 or 504
                    ``gateway_timeout`` (developers.notion.com "Status codes"); it has no
                    idempotency keys (nothing in "Request limits" or the API reference offers
                    one), so a client cannot tell a failed write from one still being applied
==================  ===========================================================================

The compact form, for ``--notion-faults`` / ``--source-faults`` and environment variables,
is parsed by :meth:`FaultPlan.parse`; ``str(plan)`` writes it back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

FaultKind = Literal[
    "rate_limited", "server_error", "overload", "timeout", "reset", "lost_response", "late_commit"
]
Only = Literal["all", "reads", "writes"]
LostAs = Literal["any", "reset", "502", "504", "timeout"]
LateAs = Literal["any", "504", "timeout"]

FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
SERVER_ERROR_STATUSES = (500, 502, 503, 504)
MAX_RETRY_AFTER = 3600
"""The longest ``Retry-After`` a fault plan may ask for: past an hour a test or a sandbox session
would only stall."""
DEFAULT_TIMEOUT_SECONDS = 65.0
"""How long a ``timeout`` holds a request: past notion-client's default timeout of 60 s."""
DEFAULT_OVERLOAD_RETRY_AFTER = 1
"""``Retry-After`` of a 529, in seconds. Notion documents that 529s carry the header but gives no
value; one second is the shortest whole wait, so a client that ignores it is still seen to."""
DEFAULT_LATE_COMMIT_AFTER = 2.0
"""Seconds between a ``late_commit``'s failed answer and its commit (the issue's reproduction)."""

_ALIASES: dict[str, str] = {
    "429": "rate_limited",
    "rate_limited": "rate_limited",
    "5xx": "5xx",
    "server_error": "5xx",
    "500": "500",
    "502": "502",
    "503": "503",
    "504": "504",
    "529": "overload",
    "overload": "overload",
    "timeout": "timeout",
    "reset": "reset",
    "lost": "lost_response",
    "lost_response": "lost_response",
    "late_commit": "late_commit",
    "late_commit_after": "late_commit_after",
    "late_as": "late_as",
    "retry_after": "retry_after",
    "overload_retry_after": "overload_retry_after",
    "timeout_seconds": "timeout_seconds",
    "lost_as": "lost_as",
    "only": "only",
    "seed": "seed",
}
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """How often each kind of fault hits a request (probabilities from 0 to 1, summing to ≤ 1).

    Attributes:
        rate_limited: probability of a 429.
        retry_after: ``Retry-After`` of those 429s in whole seconds (0 and values over 60 are
            allowed); ``None`` sends no header.
        server_errors: probability of each 5xx status (500, 502, 503, 504).
        overload: probability of a 529 ``service_overload``.
        overload_retry_after: ``Retry-After`` of those 529s in whole seconds (default 1);
            ``None`` sends no header.
        timeout: probability of holding the request :attr:`timeout_seconds`, then resetting
            the connection without an answer.
        timeout_seconds: see :attr:`timeout`; set it above the client's timeout.
        reset: probability of resetting the connection without an answer.
        lost_response: probability, for writes, of applying the request and then losing the answer.
        lost_as: how the answer is lost: ``reset``, ``502``, ``504``, ``timeout`` (held, then reset)
            or ``any`` (one of reset, 502 and 504 at random).
        late_commit: probability, for writes, of failing the answer and committing the request
            :attr:`late_commit_after` seconds later.
        late_commit_after: seconds (above 0) from a late commit's answer to its commit.
        late_as: how a late commit is answered: ``504``, ``timeout`` (held
            :attr:`timeout_seconds`, then reset) or ``any`` (one of the two at random).
        only: which requests may fail: ``all``, ``reads`` or ``writes`` (what a write is, is the
            emulator's call: a request that changes its data).
        seed: seed of the random draws; ``None`` draws a different sequence each time.

    Raises:
        ValueError: a probability outside 0-1, probabilities summing to more than 1, or another
            value out of range; the message names the setting.
    """

    rate_limited: float = 0.0
    retry_after: int | None = None
    server_errors: Mapping[int, float] = dataclasses.field(default_factory=dict)
    overload: float = 0.0
    overload_retry_after: int | None = DEFAULT_OVERLOAD_RETRY_AFTER
    timeout: float = 0.0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    reset: float = 0.0
    lost_response: float = 0.0
    lost_as: LostAs = "any"
    late_commit: float = 0.0
    late_commit_after: float = DEFAULT_LATE_COMMIT_AFTER
    late_as: LateAs = "any"
    only: Only = "all"
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("rate_limited", "overload", "timeout", "reset", "lost_response", "late_commit"):
            _check_probability(name, getattr(self, name))
        for status, chance in self.server_errors.items():
            if status not in SERVER_ERROR_STATUSES:
                raise ValueError(
                    f"server error status must be one of {SERVER_ERROR_STATUSES}, not {status!r}"
                )
            _check_probability(str(status), chance)
        if sum(self.chances().values()) > 1 + 1e-9:
            raise ValueError(f"fault probabilities add up to more than 1: {self}")
        for name in ("retry_after", "overload_retry_after"):
            wait = getattr(self, name)
            if wait is not None and (
                isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= MAX_RETRY_AFTER
            ):
                raise ValueError(
                    f"{name} must be a whole number of seconds from 0 to {MAX_RETRY_AFTER} (an hour) or None"
                )
        if (
            isinstance(self.timeout_seconds, bool)
            or not isinstance(self.timeout_seconds, int | float)
            or not math.isfinite(self.timeout_seconds)
            or self.timeout_seconds <= 0
        ):
            raise ValueError("timeout_seconds must be a number of seconds above 0")
        if (
            isinstance(self.late_commit_after, bool)
            or not isinstance(self.late_commit_after, int | float)
            or not math.isfinite(self.late_commit_after)
            or self.late_commit_after <= 0
        ):
            raise ValueError("late_commit_after must be a number of seconds above 0")
        if self.late_as not in get_args(LateAs):
            raise ValueError(f"late_as must be one of {', '.join(get_args(LateAs))}, not {self.late_as!r}")
        if self.lost_as not in get_args(LostAs):
            raise ValueError(f"lost_as must be one of {', '.join(get_args(LostAs))}, not {self.lost_as!r}")
        if self.only not in get_args(Only):
            raise ValueError(f"only must be one of {', '.join(get_args(Only))}, not {self.only!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError("seed must be a whole number or None")

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Read the compact form: comma-separated ``key=value`` settings.

        ::

            429=0.1,500=0.05,reset=0.02,lost=0.02,retry_after=0,seed=7

        Probabilities (a number from 0 to 1, or a percentage such as ``5%``):

        * ``429`` or ``rate_limited``; ``529`` or ``overload``; ``timeout``; ``reset``;
        * ``500``, ``502``, ``503``, ``504``: that status; ``5xx`` or ``server_error``: one of
          the four with equal chances (added to any status given on its own);
        * ``lost`` or ``lost_response``: writes are applied, then the answer is lost;
        * ``late_commit``: writes are answered 504 or time out, and are applied later.

        Other settings:

        * ``retry_after=N`` (whole seconds) or ``retry_after=none`` (no header; the default),
          for 429s; ``overload_retry_after=N|none`` for 529s (default 1);
        * ``timeout_seconds=S`` (default 65);
        * ``lost_as=any|reset|502|504|timeout`` (default ``any``: reset, 502 or 504);
        * ``late_commit_after=S`` (seconds, default 2); ``late_as=any|504|timeout`` (default
          ``any``: 504 or timeout);
        * ``only=all|reads|writes`` (default ``all``);
        * ``seed=N`` (default: a new random sequence each time).

        An empty string or ``none`` is the plan without faults. Spaces around keys and values
        are ignored; a key may be given once.

        Raises:
            ValueError: an unknown key (the message lists the known ones), a key given twice, a
                value that is not of the key's kind, or a plan :class:`FaultPlan` refuses.
        """
        settings: dict[str, str] = {}
        stripped = text.strip()
        if stripped.lower() in ("", "none"):
            return cls()
        for item in stripped.split(","):
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep or not key or not value:
                raise ValueError(f"fault setting {item.strip()!r} in {text!r} is not key=value")
            name = _ALIASES.get(key.lower())
            if name is None:
                known = ", ".join(_ALIASES)
                raise ValueError(f"unknown fault setting {key!r} in {text!r} (known: {known})")
            if name in settings:
                raise ValueError(f"fault setting {key!r} is given twice in {text!r}")
            settings[name] = value
        return cls._from_settings(settings)

    @classmethod
    def _from_settings(cls, settings: dict[str, str]) -> FaultPlan:
        server_errors: dict[int, float] = {}
        spread = _probability("5xx", settings.pop("5xx")) if "5xx" in settings else 0.0
        for status in SERVER_ERROR_STATUSES:
            chance = spread / len(SERVER_ERROR_STATUSES)
            if str(status) in settings:
                chance += _probability(str(status), settings.pop(str(status)))
            if chance:
                server_errors[status] = chance
        fields: dict[str, Any] = {"server_errors": server_errors}
        for name in ("rate_limited", "overload", "timeout", "reset", "lost_response", "late_commit"):
            if name in settings:
                fields[name] = _probability(name, settings.pop(name))
        for name in ("retry_after", "overload_retry_after"):
            if name in settings:
                value = settings.pop(name)
                fields[name] = None if value.lower() == "none" else _whole(name, value)
        if "timeout_seconds" in settings:
            fields["timeout_seconds"] = _number("timeout_seconds", settings.pop("timeout_seconds"))
        if "late_commit_after" in settings:
            fields["late_commit_after"] = _number("late_commit_after", settings.pop("late_commit_after"))
        if "seed" in settings:
            fields["seed"] = _whole("seed", settings.pop("seed"))
        for name in ("lost_as", "late_as", "only"):
            if name in settings:
                fields[name] = settings.pop(name).lower()
        return cls(**fields)

    @classmethod
    def coerce(cls, value: FaultPlan | str | None) -> FaultPlan | None:
        """A plan from a plan, its compact form, or None; None for a plan without faults.

        Raises:
            ValueError: as :meth:`parse`.
        """
        if isinstance(value, str):
            value = cls.parse(value)
        if value is None or isinstance(value, FaultPlan):
            return value if value is not None and value.chances() else None
        raise ValueError(f"faults must be a compact fault string such as '429=0.1,seed=7', not {value!r}")

    def chances(self) -> dict[FaultKind, float]:
        """The probability of each kind that can happen (probability above 0)."""
        chances: dict[FaultKind, float] = {
            "rate_limited": self.rate_limited,
            "server_error": sum(self.server_errors.values()),
            "overload": self.overload,
            "timeout": self.timeout,
            "reset": self.reset,
            "lost_response": self.lost_response,
            "late_commit": self.late_commit,
        }
        return {kind: chance for kind, chance in chances.items() if chance > 0}

    def require(
        self, supported: Iterable[FaultKind], emulator: str, reasons: Mapping[FaultKind, str] | None = None
    ) -> None:
        """Refuse kinds an emulator cannot inject; ``reasons`` says why, per kind.

        Raises:
            ValueError: naming each unsupported kind (with its reason) and the supported ones.
        """
        allowed = set(supported)
        unsupported = [kind for kind in self.chances() if kind not in allowed]
        if unsupported:
            why = "".join(f"; {kind}: {reasons[kind]}" for kind in unsupported if reasons and kind in reasons)
            raise ValueError(
                f"the {emulator} emulator cannot inject {', '.join(unsupported)} faults "
                f"(it supports {', '.join(k for k in FAULT_KINDS if k in allowed)}){why}"
            )

    def __str__(self) -> str:
        parts = []
        if self.rate_limited:
            parts.append(f"429={_shown(self.rate_limited)}")
        parts += [
            f"{status}={_shown(chance)}" for status, chance in sorted(self.server_errors.items()) if chance
        ]
        for key, chance in (
            ("529", self.overload),
            ("timeout", self.timeout),
            ("reset", self.reset),
            ("lost", self.lost_response),
            ("late_commit", self.late_commit),
        ):
            if chance:
                parts.append(f"{key}={_shown(chance)}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after}")
        if self.overload_retry_after != DEFAULT_OVERLOAD_RETRY_AFTER:
            parts.append(f"overload_retry_after={str(self.overload_retry_after).lower()}")
        if self.timeout_seconds != DEFAULT_TIMEOUT_SECONDS:
            parts.append(f"timeout_seconds={_shown(self.timeout_seconds)}")
        if self.lost_as != "any":
            parts.append(f"lost_as={self.lost_as}")
        if self.late_commit_after != DEFAULT_LATE_COMMIT_AFTER:
            parts.append(f"late_commit_after={_shown(self.late_commit_after)}")
        if self.late_as != "any":
            parts.append(f"late_as={self.late_as}")
        if self.only != "all":
            parts.append(f"only={self.only}")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return ",".join(parts) or "none"


def _shown(number: float) -> str:
    return f"{number:.12g}"


def _check_probability(name: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ValueError(f"fault probability {name} must be a number from 0 to 1, not {value!r}")


def _probability(name: str, text: str) -> float:
    percent = _PERCENT.match(text)
    try:
        value = float(percent.group(1)) / 100 if percent else float(text)
    except ValueError:
        raise ValueError(
            f"fault setting {name}={text!r}: expected a probability such as 0.05 or 5%"
        ) from None
    _check_probability(name, value)
    return value


def _whole(name: str, text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"fault setting {name}={text!r}: expected a whole number, at least 0")
    return int(text)


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"fault setting {name}={text!r}: expected a number of seconds") from None


@dataclasses.dataclass(frozen=True)
class Injection:
    """One fault drawn for one request, for the emulator to carry out.

    Attributes:
        kind: the plan's kind it comes from.
        status: the HTTP status to answer (429, 5xx, 529), or ``None`` to reset the connection
            without an answer.
        retry_after: for a 429 or a 529: the ``Retry-After`` header in seconds, ``None`` for no
            header.
        after_commit: apply the request first (``lost_response``).
        hold_seconds: how long to wait before failing (``timeout``, or a lost answer held).
        commit_after: apply the request this many seconds after the failed answer
            (``late_commit``); ``None`` otherwise.
    """

    kind: FaultKind
    status: int | None = None
    retry_after: int | None = None
    after_commit: bool = False
    hold_seconds: float = 0.0
    commit_after: float | None = None


class FaultInjector:
    """Draws the fault, if any, for each request from a plan; counts what it injected.

    Thread-safe. Each draw takes one number from ``random.Random(plan.seed)`` (two when the kind
    needs a second choice, such as which 5xx); requests the plan's ``only`` leaves out take none.
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = plan
        self._random = random.Random(plan.seed if plan else None)
        self._counts: Counter[str] = Counter()

    @property
    def plan(self) -> FaultPlan | None:
        """The current plan (None: no faults)."""
        return self._plan

    def configure(self, plan: FaultPlan | None) -> None:
        """Use another plan from now on; its seed starts a new random sequence."""
        with self._lock:
            self._plan = plan
            self._random = random.Random(plan.seed if plan else None)

    def draw(self, *, write: bool) -> Injection | None:
        """The fault for a request (``write``: it changes the emulator's data), or None."""
        with self._lock:
            plan = self._plan
            if plan is None or (plan.only == "reads" and write) or (plan.only == "writes" and not write):
                return None
            injection = self._pick(plan, write)
            if injection is not None:
                self._counts[injection.kind] += 1
            return injection

    def _pick(self, plan: FaultPlan, write: bool) -> Injection | None:
        roll = self._random.random()
        for kind, chance in plan.chances().items():
            if roll >= chance:
                roll -= chance
                continue
            if kind == "rate_limited":
                return Injection(kind, 429, retry_after=plan.retry_after)
            if kind == "server_error":
                statuses = list(plan.server_errors)
                weights = list(plan.server_errors.values())
                return Injection(kind, self._random.choices(statuses, weights)[0])
            if kind == "overload":
                return Injection(kind, 529, retry_after=plan.overload_retry_after)
            if kind == "timeout":
                return Injection(kind, hold_seconds=plan.timeout_seconds)
            if kind == "reset":
                return Injection(kind)
            if not write:  # nothing to lose or delay: a read has no effect to commit
                return None
            if kind == "late_commit":
                late_as = plan.late_as if plan.late_as != "any" else self._random.choice(["504", "timeout"])
                return Injection(
                    kind,
                    504 if late_as == "504" else None,
                    hold_seconds=plan.timeout_seconds if late_as == "timeout" else 0.0,
                    commit_after=plan.late_commit_after,
                )
            lost_as = plan.lost_as if plan.lost_as != "any" else self._random.choice(["reset", "502", "504"])
            return Injection(
                kind,
                int(lost_as) if lost_as.isdigit() else None,
                after_commit=True,
                hold_seconds=plan.timeout_seconds if lost_as == "timeout" else 0.0,
            )
        return None

    def counts(self) -> dict[str, int]:
        """Faults injected so far, by kind (kinds that never happened are left out)."""
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Set the counters back to zero."""
        with self._lock:
            self._counts.clear()


# -- carrying out a fault on the wire -------------------------------------------------------

_POLL_SECONDS = 0.05


async def hold(request: Request, seconds: float) -> bool:
    """Keep a request unanswered for ``seconds``, or until its client gives up.

    Returns:
        True when the client is still connected (it waited longer than its timeout).
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while not await request.is_disconnected():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, _POLL_SECONDS))
    return False


_SEND_KEY = "syncfw.server_send"


class DroppableConnections:
    """ASGI middleware that lets the app reset its client's connection (see :func:`drop_connection`).

    Wrap the whole app in it: it keeps the server's own ``send`` in the scope, which knows the
    connection (uvicorn's ``RequestResponseCycle.transport``); middleware inside the app wraps
    ``send`` and hides it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_SEND_KEY] = send
        await self.app(scope, receive, send)


async def drop_connection(scope: Scope) -> None:
    """Reset the TCP connection of the request in ``scope`` (an RST, no answer).

    The client sees a connection error (``httpx.ReadError`` / ``RemoteProtocolError``,
    ``requests.ConnectionError``). Anything the app answers afterwards is discarded.

    Raises:
        RuntimeError: the app is not wrapped in :class:`DroppableConnections` and served by
            uvicorn (:class:`syncfw.emulation.server.ServedApp`).
    """
    transport = getattr(getattr(scope.get(_SEND_KEY), "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise RuntimeError(
            "dropping a connection needs the app wrapped in DroppableConnections and served by uvicorn"
        )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # linger 0: close() sends RST instead of FIN, as a crashed peer or a load balancer does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # let the server see the connection lost before the app answers, so the answer is dropped
    await asyncio.sleep(_POLL_SECONDS)
