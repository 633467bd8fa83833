"""Growing per-address lockout after wrong PINs, on a fake clock."""

from __future__ import annotations

import pytest

from spotlight.auth.lockout import Lockout


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _lockout(clock: FakeClock, **kwargs: float) -> Lockout:
    return Lockout(clock, **kwargs)  # type: ignore[arg-type]


def test_five_free_failures_then_growing_locks_capped() -> None:
    clock = FakeClock()
    lock = Lockout(clock)
    assert [lock.failure("a") for _ in range(5)] == [0.0] * 5
    assert lock.retry_after("a") == 0.0  # five free failures: no wait yet
    # The sixth failure locks for base_s.
    assert lock.failure("a") == 30.0
    assert lock.retry_after("a") == 30.0
    clock.now += 10
    assert lock.retry_after("a") == 20.0
    seen = []
    for _ in range(10):
        clock.now += lock.retry_after("a")  # wait out the lock, then fail again
        assert lock.retry_after("a") == 0.0
        seen.append(lock.failure("a"))
    assert seen == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0, 3600.0, 3600.0]


def test_lock_for_schedule() -> None:
    lock = Lockout(FakeClock(), free_attempts=3, base_s=10.0, factor=3.0, cap_s=100.0)
    assert [lock.lock_for(n) for n in range(1, 9)] == [
        0.0,
        0.0,
        0.0,
        10.0,
        30.0,
        90.0,
        100.0,
        100.0,
    ]


def test_huge_failure_counts_stay_capped() -> None:
    lock = Lockout(FakeClock(), factor=1e10)
    assert lock.lock_for(10_000) == 3600.0


def test_factor_one_is_a_fixed_lock() -> None:
    lock = Lockout(FakeClock(), free_attempts=0, factor=1.0)
    assert [lock.lock_for(n) for n in (1, 2, 50)] == [30.0, 30.0, 30.0]


def test_zero_free_attempts_locks_at_the_first_failure() -> None:
    lock = Lockout(FakeClock(), free_attempts=0)
    assert lock.failure("a") == 30.0
    assert lock.failure("a") == 60.0


def test_failures_while_locked_still_count() -> None:
    clock = FakeClock()
    lock = Lockout(clock)
    for _ in range(6):
        lock.failure("a")
    # Parallel guesses that slipped past retry_after: each one escalates.
    assert lock.failure("a") == 60.0
    assert lock.failure("a") == 120.0
    assert lock.retry_after("a") == 120.0


def test_addresses_are_independent() -> None:
    clock = FakeClock()
    lock = Lockout(clock)
    for _ in range(6):
        lock.failure("a")
    assert lock.retry_after("a") == 30.0
    assert lock.retry_after("b") == 0.0
    assert lock.failure("b") == 0.0


def test_success_resets() -> None:
    clock = FakeClock()
    lock = Lockout(clock)
    for _ in range(6):
        lock.failure("a")
    lock.success("a")
    assert lock.retry_after("a") == 0.0
    assert [lock.failure("a") for _ in range(6)] == [0.0, 0.0, 0.0, 0.0, 0.0, 30.0]
    lock.success("never-seen")  # no error


def test_memory_is_bounded_by_evicting_least_recently_failed() -> None:
    clock = FakeClock()
    lock = Lockout(clock, free_attempts=0, max_entries=3)
    for addr in ("a", "b", "c"):
        lock.failure(addr)
        clock.now += 1
    lock.failure("a")  # a is now the most recent
    lock.failure("d")  # evicts b, the least recently failed
    assert lock.stats()["tracked"] == 3
    assert lock.retry_after("b") == 0.0
    assert lock.retry_after("a") > 0 and lock.retry_after("c") > 0 and lock.retry_after("d") > 0


def test_retry_after_does_not_refresh_recency() -> None:
    clock = FakeClock()
    lock = Lockout(clock, free_attempts=0, max_entries=2)
    lock.failure("a")
    lock.failure("b")
    lock.retry_after("a")  # polling while locked must not keep an entry alive
    lock.failure("c")
    assert lock.retry_after("a") == 0.0
    assert lock.retry_after("b") > 0


def test_many_addresses_stay_within_bound() -> None:
    lock = Lockout(FakeClock(), max_entries=100)
    for i in range(10_000):
        lock.failure(f"10.0.{i // 256}.{i % 256}")
    assert lock.stats() == {"tracked": 100, "locked": 0}


def test_idle_entries_are_forgotten() -> None:
    clock = FakeClock()
    lock = Lockout(clock, forget_after_s=7200.0)
    for _ in range(5):
        lock.failure("a")
    clock.now += 7199.0
    assert lock.stats()["tracked"] == 1
    assert lock.failure("a") == 30.0  # the sixth failure still counts
    clock.now += 7200.0
    assert lock.stats()["tracked"] == 0
    assert lock.failure("a") == 0.0  # starts over


def test_idle_forgetting_is_lazy_and_keeps_recent_entries() -> None:
    clock = FakeClock()
    lock = Lockout(clock, forget_after_s=3600.0)
    lock.failure("old")
    clock.now += 3000
    lock.failure("new")
    clock.now += 600
    assert lock.retry_after("new") == 0.0
    assert lock.stats()["tracked"] == 1  # "old" dropped, "new" kept


def test_stats_counts_tracked_and_locked() -> None:
    clock = FakeClock()
    lock = Lockout(clock, free_attempts=1)
    assert lock.stats() == {"tracked": 0, "locked": 0}
    lock.failure("a")
    lock.failure("b")
    lock.failure("b")
    assert lock.stats() == {"tracked": 2, "locked": 1}
    clock.now += 30
    assert lock.stats() == {"tracked": 2, "locked": 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"free_attempts": -1}, "free_attempts"),
        ({"base_s": 0.0}, "base_s"),
        ({"base_s": 10.0, "cap_s": 5.0}, "cap_s"),
        ({"factor": 0.5}, "factor"),
        ({"cap_s": float("inf")}, "finite"),
        ({"max_entries": 0}, "max_entries"),
        ({"forget_after_s": 60.0}, "forget_after_s"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _lockout(FakeClock(), **kwargs)
