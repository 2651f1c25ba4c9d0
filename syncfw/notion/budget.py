"""The rate budget: how fast syncfw may call the Notion API with one integration token.

Notion allows "an average of three requests per second" per integration, with "some bursts
beyond the average rate", and answers 429 ``rate_limited`` with a ``Retry-After`` beyond that
(https://developers.notion.com/reference/request-limits). The budget is a token bucket shared by
every thread that uses the token: ``rate`` tokens per second refill a bucket of ``burst`` tokens,
and each request takes one.

* A 429 answer pauses the whole budget for its ``Retry-After`` (not only the request that got
  it), because every other in-flight request of the token would be refused too.
* Repeated 429s lower the rate (AIMD). The 429s within ``max(Retry-After, EPISODE_SECONDS)`` of
  a first one are one episode (the requests that were already in flight when it came). A 429
  less than :data:`REPEAT_WINDOW` seconds after the previous episode ended starts a new one and
  multiplies the current rate by :data:`DECREASE_FACTOR`, down to :data:`MIN_RATE_FRACTION` of
  the configured rate (0.3 requests per second at Notion's 3); a lone 429 only pauses. Each
  :data:`RECOVER_AFTER` seconds without a 429 add :data:`RECOVER_STEP_FRACTION` of the configured
  rate back, up to it.
* Two lanes: ``"high"`` (the health dashboard and run history) and ``"bulk"`` (the sync's own
  requests, the default). A high request that has to wait registers a claim; while a claim is
  fresh, bulk requests leave the next token to it, so it waits at most about one token interval
  (``1 / rate`` seconds) however many bulk requests queue. Both lanes take tokens from the same
  bucket, so together they never exceed the rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from filelock import FileLock

from syncfw.errors import UnsafeBudgetDirectory
from syncfw.recipe.schema import rate_problem
from syncfw.recipe.state import POSTGRES_SCHEMES, STATE_URL_VARIABLE

Priority = Literal["high", "bulk"]
"""The lane of a request: ``"high"`` for health and run-history writes, ``"bulk"`` for the rest."""


def check_priority(priority: str) -> None:
    """Raise ``ValueError`` unless ``priority`` is a :data:`Priority`."""
    if priority not in get_args(Priority):
        raise ValueError(f"priority must be 'high' or 'bulk', not {priority!r}")


DECREASE_FACTOR = 0.7
"""Repeated 429s multiply the current rate by this."""
MIN_RATE_FRACTION = 0.1
"""The rate is never lowered below this fraction of the configured rate."""
REPEAT_WINDOW = 30.0
"""Seconds: a 429 this soon after the previous episode ended lowers the rate."""
EPISODE_SECONDS = 1.0
"""Seconds: 429s this soon after an episode's first (or within its pause) belong to it."""
RECOVER_AFTER = 10.0
"""Seconds without a 429 after which a lowered rate goes up by one step."""
RECOVER_STEP_FRACTION = 0.1
"""One recovery step, as a fraction of the configured rate."""
CLAIM_SECONDS = 1.0
"""Seconds a waiting high request's claim outlives its planned wake-up (so a crashed waiter
holds bulk back for no longer than that)."""

T = TypeVar("T")


@dataclasses.dataclass
class _Bucket:
    """The state of a budget; times are seconds on the budget's clock, rates requests/second."""

    tokens: float
    updated: float
    paused_until: float = 0.0
    rate: float | None = None  # the lowered rate, None while at the configured one
    rate_changed: float = 0.0
    last_429: float | None = None
    episode_until: float | None = None  # the end of the latest 429 episode
    lowered: int = 0
    claims: dict[str, float] = dataclasses.field(default_factory=dict)  # high waiter → expiry


def load_bucket(text: str | bytes, burst: int, now: float) -> _Bucket:
    """The bucket saved as ``text`` (JSON, as text or UTF-8 bytes) by :func:`dump_bucket`; a fresh, full one when ``text`` cannot
    be read (empty, not JSON). A bucket saved by an older syncfw lacks the newer fields: they keep
    their defaults."""
    fresh = _Bucket(tokens=float(burst), updated=now)
    try:
        saved: Any = json.loads(text)
        names = {f.name for f in dataclasses.fields(_Bucket)}
        return dataclasses.replace(fresh, **{k: v for k, v in saved.items() if k in names})
    except (ValueError, TypeError, AttributeError):
        return fresh


def dump_bucket(state: _Bucket) -> str:
    """``state`` as JSON text, for a budget kept outside the process (a file, a server)."""
    return json.dumps(dataclasses.asdict(state))


class RateBudget:
    """A blocking token bucket with a priority lane and AIMD on 429s (see the module docstring).

    Args:
        rate: the configured rate in requests per second (see :func:`rate_problem`).
        burst: bucket capacity in requests (≥ 1); the number of requests that may go back to back
            after an idle period.
        clock, sleep: injectable for simulation; default ``time.monotonic`` and ``time.sleep``.

    Raises:
        ValueError: ``rate`` is not a finite rate from :data:`MIN_RATE` to :data:`MAX_RATE`.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 3,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        problem = rate_problem(rate)
        if problem is not None:
            raise ValueError(problem)
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state = _Bucket(tokens=float(self.burst), updated=clock())
        self.waited = 0.0

    def _exchange(self, change: Callable[[_Bucket, float], T]) -> T:
        """Apply ``change`` to the state at the current time, atomically for every user."""
        with self._lock:
            return change(self._state, self._clock())

    # -- AIMD ------------------------------------------------------------------------------

    def _effective(self, state: _Bucket) -> float:
        return self.rate if state.rate is None else min(self.rate, state.rate)

    def _recover(self, state: _Bucket, now: float) -> None:
        if state.rate is None:
            return
        quiet_since = state.rate_changed
        if state.last_429 is not None:
            quiet_since = max(quiet_since, state.last_429)
        steps = math.floor((now - quiet_since) / RECOVER_AFTER)
        if steps <= 0:
            return
        state.rate += steps * RECOVER_STEP_FRACTION * self.rate
        state.rate_changed = quiet_since + steps * RECOVER_AFTER
        if state.rate >= self.rate - 1e-9:
            state.rate = None

    def _rate_limited(self, state: _Bucket, now: float, seconds: float) -> bool:
        """Count a 429 at ``now``; lower the rate when it repeats. True when it was lowered."""
        self._recover(state, now)
        state.last_429 = now
        previous_end = state.episode_until
        if previous_end is not None and now < previous_end:
            return False  # a request of the episode that was in flight when it began
        state.episode_until = now + max(seconds, EPISODE_SECONDS)
        if previous_end is None or now - previous_end > REPEAT_WINDOW:
            return False
        current = self._effective(state)
        lowered = max(self.rate * MIN_RATE_FRACTION, current * DECREASE_FACTOR)
        if lowered >= current - 1e-9:
            return False
        state.rate, state.rate_changed = lowered, now
        state.lowered += 1
        return True

    @property
    def current_rate(self) -> float:
        """The rate in force now, in requests per second: ``rate`` unless repeated 429s lowered it."""

        def read(state: _Bucket, now: float) -> float:
            self._recover(state, now)
            return self._effective(state)

        return self._exchange(read)

    @property
    def rate_lowered(self) -> int:
        """How many times repeated 429s have lowered this budget's rate (for a shared budget: by
        every process of the token, since its file was created)."""
        return self._exchange(lambda state, now: state.lowered)

    # -- requests --------------------------------------------------------------------------

    def _take(self, state: _Bucket, now: float, claim: str | None) -> float:
        """Take a token for a request (``claim`` is set for a high one): 0, or seconds to wait."""
        state.claims = {k: v for k, v in state.claims.items() if v > now and k != claim}
        self._recover(state, now)
        rate = self._effective(state)
        if now < state.paused_until:
            wait = state.paused_until - now
        else:
            state.tokens = min(self.burst, state.tokens + max(0.0, now - state.updated) * rate)
            state.updated = now
            ready = state.tokens >= 1 - 1e-9  # tolerate float rounding of the refill
            if ready and (claim is not None or not state.claims):
                state.tokens = max(0.0, state.tokens - 1)
                return 0.0
            wait = 0.0 if ready else (1 - state.tokens) / rate
            if claim is None and state.claims:
                wait += 1 / rate  # a high request is waiting: leave it the next token
        if claim is not None:
            state.claims[claim] = now + wait + CLAIM_SECONDS
        return wait

    def acquire(self, priority: Priority = "bulk") -> None:
        """Block until one request may be sent, then take its token.

        Args:
            priority: ``"high"`` goes ahead of every ``"bulk"`` request waiting at that moment.

        Raises:
            ValueError: ``priority`` is not ``"high"`` or ``"bulk"``.
        """
        check_priority(priority)
        claim = uuid.uuid4().hex if priority == "high" else None

        try:
            while True:
                wait = self._exchange(lambda state, now: self._take(state, now, claim))
                if wait <= 0:
                    return
                self.waited += wait
                self._sleep(wait)
        except BaseException:
            if claim is not None:  # interrupted while waiting: hold bulk requests back no longer
                held = claim
                self._exchange(lambda state, now: state.claims.pop(held, None))
            raise

    def pause(self, seconds: float) -> bool:
        """Stop every request of this budget for ``seconds`` (from a 429's ``Retry-After``).

        The bucket is emptied too, so requests resume at the average rate rather than in a burst.
        A 429 that repeats an earlier one also lowers the rate (see the module docstring).

        Returns:
            True when this 429 lowered the rate.
        """

        def stop(state: _Bucket, now: float) -> bool:
            lowered = self._rate_limited(state, now, max(0.0, seconds))
            state.paused_until = max(state.paused_until, now + max(0.0, seconds))
            state.tokens = 0.0
            state.updated = max(now, state.paused_until)
            return lowered

        return self._exchange(stop)


PRIVATE_CHECKS = os.name == "posix"
"""Whether owners, modes and links are checked (POSIX; elsewhere the temporary directory is the user's own)."""
_LOG = logging.getLogger(__name__)


def _open_directory(path: Path) -> int:
    """A descriptor of the budget directory ``path`` (created with mode 0700 when missing), after
    checking that it is a real directory, belongs to this user and only this user can write in it.

    Raises:
        UnsafeBudgetDirectory: it is not.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        problem = "it is a symbolic link" if path.is_symlink() else f"it cannot be opened ({exc.strerror})"
        raise UnsafeBudgetDirectory(path, problem) from None
    info = os.fstat(fd)
    if info.st_uid != os.getuid():
        problem = f"it belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})"
    elif info.st_mode & 0o022:
        problem = f"other users can write in it (mode {info.st_mode & 0o7777:o})"
    else:
        return fd
    os.close(fd)
    raise UnsafeBudgetDirectory(path, problem)


@contextlib.contextmanager
def _directory(path: Path) -> Iterator[int | None]:
    """:func:`_open_directory` where owners and modes exist (None elsewhere), closed on exit."""
    if not PRIVATE_CHECKS:
        path.mkdir(parents=True, exist_ok=True)
        yield None
        return
    fd = _open_directory(path)
    try:
        yield fd
    finally:
        os.close(fd)


def budget_directory() -> Path:
    """Where the budget files of :class:`SharedRateBudget` live.

    ``SYNCFW_BUDGET_DIR`` when set, else ``<temporary directory>/syncfw`` (``/tmp/syncfw``),
    created with mode 0700. A directory in a world-writable place can be planted by another local
    user (owned by them, or open to them, with symbolic links waiting for syncfw to write
    through); so the directory must belong to this user, be a real directory (not a link) and be
    writable by no one else. When the default one is not, syncfw warns and uses
    ``$XDG_CACHE_HOME/syncfw/budget`` (``~/.cache/syncfw/budget``) instead: every process of this
    user falls back the same way, so they still share one budget. A ``SYNCFW_BUDGET_DIR`` that is
    not safe (it was chosen on purpose), or an unsafe fallback, is refused when the budget is used
    (:class:`UnsafeBudgetDirectory`), so the run that uses it fails (exit 1) and records why.
    """
    explicit = os.environ.get("SYNCFW_BUDGET_DIR")
    if explicit:
        return Path(explicit)  # checked on each use, so the run that uses it fails and says why
    shared = Path(tempfile.gettempdir()) / "syncfw"
    try:
        with _directory(shared):
            return shared
    except UnsafeBudgetDirectory as exc:
        private = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "syncfw" / "budget"
        _LOG.warning(
            "warning: the rate-budget directory %s is not safe to write in: %s; syncfw uses %s instead "
            "(remove %s, or set SYNCFW_BUDGET_DIR)",
            shared,
            exc.problem,
            private,
            shared,
        )
        return private


class SharedRateBudget(RateBudget):
    """A :class:`RateBudget` shared by every process of the machine that uses the same token.

    The bucket, the lowered rate, the 429 episodes and the claims of waiting high requests live
    in a small JSON file (``DIR/budget-<sha256 of the token>.json``, never the token itself)
    guarded by a kernel file lock, so two cron jobs of one integration together stay within
    Notion's rate, a 429 seen by one slows both, and a health write of one goes ahead of the
    other's bulk writes. Threads of one process share the instance as usual. An unreadable file
    starts a fresh bucket. The file is opened without following a symbolic link (``O_NOFOLLOW``,
    relative to the checked directory), with mode 0600.

    Args:
        key: what identifies the budget (a digest of the token).
        directory: where the bucket file lives (default :func:`budget_directory`); it must
            belong to this user and be writable by no one else.
        clock, sleep: injectable for simulation; default ``time.time`` (the file outlives the
            processes, and a monotonic clock restarts with the machine) and ``time.sleep``.

    Raises:
        UnsafeBudgetDirectory: (from :meth:`acquire`, :meth:`pause` and the rate properties) the
            directory is not safe (see :func:`budget_directory`), or the bucket file is a link.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 3,
        *,
        key: str,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst, clock=clock, sleep=sleep)
        base = budget_directory() if directory is None else directory
        self.path = base / f"budget-{key}.json"
        self._file_lock = FileLock(str(self.path) + ".lock")

    def _open(self, directory: int | None) -> int:
        """The bucket file, opened read-write (created 0600) without following a link."""
        if directory is None:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            return os.open(self.path.name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=directory)
        except OSError as exc:
            reason = (
                "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot be opened ({exc.strerror})"
            )
            raise UnsafeBudgetDirectory(self.path.parent, f"its file {self.path.name} {reason}") from None

    def _exchange(self, change: Callable[[_Bucket, float], T]) -> T:
        # filelock retries a held lock every 50 ms by default: a delay of up to half a token at
        # 10 requests/s, for a high request too
        # the directory is checked before the lock file in it is opened
        with (
            self._lock,
            _directory(self.path.parent) as directory,
            self._file_lock.acquire(poll_interval=0.005),
        ):
            now = self._clock()
            with os.fdopen(self._open(directory), "r+", encoding="utf-8", errors="replace") as file:
                state = load_bucket(file.read(), self.burst, now)
                result = change(state, now)
                file.seek(0)
                file.truncate()
                file.write(dump_bucket(state))
            return result


_BUDGETS: dict[tuple[str, str], RateBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(token: str, rate: float, burst: int = 3) -> RateBudget:
    """The budget of an integration token (DESIGN.md rule 6): one per token in this process,
    shared with every other process of the token on this machine through a file
    (:class:`SharedRateBudget`), or, when ``SYNCFW_BUDGET_URL`` is set, with every process on every
    machine through that PostgreSQL or Redis server (:mod:`syncfw.notion.budget_shared`); without
    it, the PostgreSQL server of ``SYNCFW_STATE_URL`` when the state is there (every machine that
    shares the state shares the budget). ``rate`` is requests per second; the server is first
    contacted by the first request.

    Raises:
        ConfigError: ``SYNCFW_BUDGET_URL`` is malformed or its driver is not installed (exit 2).
    """
    key = hashlib.sha256(token.encode()).hexdigest()[:16]
    url = os.environ.get("SYNCFW_BUDGET_URL", "") or _state_server()
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get((url, key))
        if budget is None or budget.rate != rate:
            if url:
                # imported here: its drivers are optional extras, needed only with a budget server
                from syncfw.notion.budget_shared import server_budget

                budget = server_budget(url, rate, burst, key=key)
            else:
                budget = SharedRateBudget(rate, burst, key=key)
            _BUDGETS[url, key] = budget
        return budget


def _state_server() -> str:
    """``SYNCFW_STATE_URL`` when it names a PostgreSQL server, else ``""``."""
    state = os.environ.get(STATE_URL_VARIABLE, "")
    return state if state.partition("://")[0] in POSTGRES_SCHEMES else ""
