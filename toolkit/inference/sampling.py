"""Running nutpie with per-chain progress and cancellation (both samplers use it).

``nutpie.sample(..., blocking=False)`` samples on nutpie's own threads and returns at once;
:func:`sample_nutpie` then waits for it, passing each chain's state to ``on_chains`` (from
nutpie's ``progress_callback``, several times a second) and the overall fraction to
``progress``. When ``stop`` is set (the dashboard's *Cancel*, or newer inputs that make the
run stale) the sampler is aborted and :class:`Cancelled` is raised within a tenth of a
second: nothing of the run is kept. Blocking or not, the draws are the same for the same
seed (the tests compare them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: How often (seconds) the waiting loop looks at ``stop`` and at the sampler.
POLL = 0.05
#: How often (milliseconds) nutpie reports the chains' progress.
PROGRESS_RATE = 200


class Cancelled(Exception):  # noqa: N818 - the work was cancelled, not an error
    """The run was stopped (``stop`` set, or *Cancel* pressed) before it finished."""


class StopFlag(Protocol):
    """Anything with ``is_set()`` (a :class:`threading.Event`)."""

    def is_set(self) -> bool:
        """Whether the run should stop."""
        ...


@dataclass(frozen=True)
class ChainState:
    """One chain's progress: draws done of the total (tuning included), divergences."""

    done: int
    total: int
    tuning: bool
    divergences: int

    @property
    def fraction(self) -> float:
        """Share of the chain's draws done (0 to 1)."""
        return self.done / self.total if self.total else 0.0

    def describe(self, number: int) -> str:
        """``chain 2: 640/1300 (tuning)`` - with divergences when there are any."""
        phase = " (tuning)" if self.tuning and self.done < self.total else ""
        bad = f", {self.divergences} divergent" if self.divergences else ""
        return f"chain {number}: {self.done}/{self.total}{phase}{bad}"


ChainsCallback = Callable[[Sequence[ChainState]], None]
Progress = Callable[[str, float], None]


def check_stop(stop: StopFlag | None) -> None:
    """Raise :class:`Cancelled` if ``stop`` is set (between stages of long work)."""
    if stop is not None and stop.is_set():
        raise Cancelled


def chain_states(chains: Sequence[Any]) -> list[ChainState]:
    """The states of nutpie's ``ChainProgress`` objects as :class:`ChainState`."""
    return [ChainState(int(c.finished_draws), int(c.total_draws), bool(c.tuning),
                       int(c.divergences)) for c in chains]


def _finished(sampler: Any) -> bool:
    """Whether nutpie's background sampler is done (its check times out while it is busy)."""
    try:
        return bool(sampler.is_finished)
    except TimeoutError:
        return False


def sample_nutpie(compiled: Any, *, draws: int, tune: int, chains: int, cores: int,
                  seed: int, progress: Progress | None = None,
                  on_chains: ChainsCallback | None = None, stop: StopFlag | None = None,
                  span: tuple[float, float] = (0.0, 1.0)) -> Any:
    """Sample ``compiled`` with nutpie, reporting per chain, stopping when ``stop`` is set.

    Parameters
    ----------
    compiled : nutpie CompiledModel
        The model with its data set.
    draws, tune, chains, cores, seed : int
        As for ``nutpie.sample``; warm-up draws are not kept.
    progress : callable, optional
        ``progress(message, fraction)``: the chains' overall share mapped onto ``span``.
    on_chains : callable, optional
        ``on_chains(states)`` with one :class:`ChainState` per chain.
    stop : StopFlag, optional
        Checked every :data:`POLL` seconds; once set the sampler is aborted.
    span : (float, float)
        The part of the caller's progress bar that sampling fills.

    Returns
    -------
    DataTree
        nutpie's trace.

    Raises
    ------
    Cancelled
        If ``stop`` was set before sampling finished.
    """
    import nutpie

    check_stop(stop)
    def callback(states: Sequence[Any]) -> None:  # on nutpie's thread
        converted = chain_states(states)
        if on_chains is not None:
            on_chains(converted)
        if progress is not None and converted:
            done = sum(c.done for c in converted)
            total = sum(c.total for c in converted) or 1
            progress("sampling: " + "; ".join(c.describe(i + 1) for i, c in
                                              enumerate(converted)),
                     span[0] + (span[1] - span[0]) * done / total)

    sampler = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores,
                            seed=seed, progress_bar=False, save_warmup=False, blocking=False,
                            progress_callback=callback, progress_rate=PROGRESS_RATE)
    while not _finished(sampler):
        if stop is not None and stop.is_set():
            sampler.cancel()
            raise Cancelled
        time.sleep(POLL)
    trace = sampler.wait()
    if on_chains is not None:  # the final state (the callback may lag behind the end)
        diverging = trace["sample_stats"]["diverging"].values
        on_chains([ChainState(draws + tune, draws + tune, False, int(diverging[c].sum()))
                   for c in range(diverging.shape[0])])
    return trace
