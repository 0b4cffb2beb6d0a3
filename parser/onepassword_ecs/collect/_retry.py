"""The retry policy: which failures are retried, how long to wait, when to give up.

Built on tenacity rather than a hand-written loop. Transient failures (429, 5xx,
timeouts, connection errors) are retried; everything else is final at once. The wait
is the server's ``Retry-After`` when a 429 carries one (capped, so a hostile value
cannot park the collector for a day), else exponential backoff with *full jitter*
(a uniform draw between 0 and ``base * 2**attempt``, capped): many collectors that
failed together do not retry together. Every wait goes through the run's
:class:`~._stopper.Stopper`, so a signal ends it; the attempts are bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import RateLimitedError, TransientApiError
from ._config import Tunables
from ._stopper import Stopper

if TYPE_CHECKING:  # imported when a policy runs: tenacity belongs to the collect extra
    import tenacity

__all__ = ["RetryPolicy"]

T = TypeVar("T")


def _server_wait_or_jitter(base: float, cap: float, retry_after_cap: float) -> Any:
    """``Retry-After`` when the server gave one, else full-jitter exponential backoff."""
    import tenacity

    jitter = tenacity.wait_random_exponential(multiplier=base, max=cap)

    def wait(retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), retry_after_cap)
        return float(jitter(retry_state))

    return wait


class RetryPolicy:
    """Run a callable, retrying transient API errors within the configured bounds."""

    def __init__(
        self,
        tunables: Tunables,
        stopper: Stopper,
        on_retry: Callable[[BaseException, float, int], None] | None = None,
    ) -> None:
        self._tunables = tunables
        self._stopper = stopper
        self._on_retry = on_retry
        self.retries = 0

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        if self._on_retry is not None and error is not None:
            self._on_retry(error, float(wait), state.attempt_number)

    def call(self, function: Callable[[], T]) -> T:
        """``function()``; a transient error is retried, the last one re-raised."""
        import tenacity

        tunables = self._tunables
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientApiError),
            stop=tenacity.stop_after_attempt(tunables.max_attempts),
            wait=_server_wait_or_jitter(
                tunables.backoff_base, tunables.backoff_max, tunables.retry_after_max
            ),
            sleep=self._stopper.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(function)
