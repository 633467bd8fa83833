"""RequestBudget (token bucket + concurrency cap, on Trio's virtual clock) and the pure
pagination helpers (rebase_next_url, PageGuard)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from spotlight.market.massive import PageGuard, RequestBudget
from spotlight.market.massive.pagination import (
    DEFAULT_MAX_PAGES,
    Page,
    Walk,
    collect_pages,
    rebase_next_url,
)


def test_plans() -> None:
    free, paid = RequestBudget.for_plan("free"), RequestBudget.for_plan("paid")
    assert (free.per_minute, free.burst, free.concurrency) == (5.0, 5, 1)
    assert (paid.per_minute, paid.burst, paid.concurrency) == (6000.0, 100, 8)
    with pytest.raises(ValueError, match="'free' or 'paid'"):
        RequestBudget.for_plan("gold")


@pytest.mark.parametrize(
    "args", [(0, 5, 1), (-1, 5, 1), (5, 0, 1), (5, 5, 0), (float("nan"), 5, 1)]
)
def test_budget_rejects_nonsense(args: tuple[float, int, int]) -> None:
    with pytest.raises(ValueError):
        RequestBudget(*args)


async def test_burst_then_one_token_per_interval(autojump_clock: trio.testing.MockClock) -> None:
    budget = RequestBudget(per_minute=5, burst=5, concurrency=1)
    start = trio.current_time()
    times = []
    for _ in range(7):
        async with budget.slot():
            times.append(trio.current_time() - start)
    assert times[:5] == [0.0] * 5
    assert times[5] == pytest.approx(12.0) and times[6] == pytest.approx(24.0)
    stats = budget.stats()
    assert stats["acquired"] == 7.0 and stats["waited_s"] == pytest.approx(24.0)
    assert stats["in_flight"] == 0.0 and stats["tokens"] == pytest.approx(0.0)


async def test_tokens_refill_while_idle_up_to_burst(autojump_clock: trio.testing.MockClock) -> None:
    budget = RequestBudget(per_minute=60, burst=3, concurrency=4)
    for _ in range(3):
        async with budget.slot():
            pass
    await trio.sleep(3600)  # an hour idle refills only to the burst, not 3,600 tokens
    assert budget.stats()["tokens"] == 3.0
    start = trio.current_time()
    for _ in range(4):
        async with budget.slot():
            pass
    assert trio.current_time() - start == pytest.approx(1.0)


async def test_concurrency_cap_holds_across_tasks(autojump_clock: trio.testing.MockClock) -> None:
    budget = RequestBudget(per_minute=6000, burst=100, concurrency=3)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with budget.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            assert budget.stats()["in_flight"] <= 3
            await trio.sleep(1)
            in_flight -= 1

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(9):
            nursery.start_soon(request)
    assert peak == 3
    assert trio.current_time() - start == pytest.approx(3.0)


async def test_a_cancelled_waiter_gives_back_nothing_and_blocks_no_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    budget = RequestBudget(per_minute=1, burst=1, concurrency=2)
    async with budget.slot():
        pass
    with trio.move_on_after(5):
        async with budget.slot():
            raise AssertionError("no token should be available for 60 s")
    assert budget.stats()["waiting"] == 0.0
    start = trio.current_time()
    async with budget.slot():
        pass
    assert trio.current_time() - start == pytest.approx(55.0)


def test_rebase_ignores_the_host_and_keeps_the_raw_cursor() -> None:
    nxt = "https://api.massive.com/v3/snapshot/options/I:SPX?cursor=YXA9MTAmYXM9Jmxp%3D%3D"
    assert rebase_next_url("http://127.0.0.1:9000", nxt) == (
        "http://127.0.0.1:9000/v3/snapshot/options/I:SPX?cursor=YXA9MTAmYXM9Jmxp%3D%3D"
    )
    assert rebase_next_url("https://proxy.local/massive/", "https://x/v2/aggs?cursor=a") == (
        "https://proxy.local/massive/v2/aggs?cursor=a"
    )
    assert rebase_next_url("https://b", "/v3/x") == "https://b/v3/x"
    assert rebase_next_url("https://b", "https://evil/v3/x?apiKey=k&cursor=c&apiKey=j") == (
        "https://b/v3/x?cursor=c"
    )


def test_page_guard_catches_repeats_even_across_hosts() -> None:
    guard = PageGuard("options_chain")
    assert guard.check("https://api.massive.com/v3/snapshot/options/I:SPX?cursor=a") is None
    assert guard.check("https://api.massive.com/v3/snapshot/options/I:SPX?cursor=b") is None
    assert guard.check("https://other.host/v3/snapshot/options/I:SPX?cursor=a") == "looped"
    assert guard.pages == 3


def test_page_guard_caps_total_pages() -> None:
    assert DEFAULT_MAX_PAGES == 200
    guard = PageGuard("options_contracts", max_pages=3)
    assert guard.check("/v3/reference/options/contracts?cursor=1") is None
    assert guard.check("/v3/reference/options/contracts?cursor=2") is None  # page 3
    assert guard.check("/v3/reference/options/contracts?cursor=3") == "page_cap"
    with pytest.raises(ValueError):
        PageGuard("x", max_pages=0)
    assert PageGuard("x", max_pages=1).check("/a?cursor=1") == "page_cap"


async def test_collect_pages_keeps_a_looping_walk_de_duplicated() -> None:
    pages = {
        "https://b/v3/x?cursor=2": Page(["b", "c"], "https://a/v3/x?cursor=2", False),
    }

    async def fetch(url: str) -> Page[str] | None:
        return pages[url]

    first = Page(["a", "b"], "https://a/v3/x?cursor=2", False)
    walk = await collect_pages("e", "https://b", first, fetch)
    assert walk == Walk("e", ["a", "b", "c"], False, 2, looped=True, partial=False, duplicates=1)
    assert walk.note() == {"pages": 2, "looped": True, "partial": False, "duplicates": 1}


async def test_collect_pages_follows_rebased_urls_until_the_last_page() -> None:
    seen: list[str] = []
    pages = {
        "https://b/v3/x?cursor=2": Page(["c"], "https://a/v3/x?cursor=3", True),
        "https://b/v3/x?cursor=3": Page(["d"], None, False),
    }

    async def fetch(url: str) -> Page[str] | None:
        seen.append(url)
        return pages[url]

    first = Page(["a", "b"], "https://a/v3/x?cursor=2", False)
    walk = await collect_pages("e", "https://b", first, fetch)
    assert (walk.items, walk.delayed, walk.pages) == (["a", "b", "c", "d"], True, 3)
    assert not walk.looped and not walk.partial
    assert seen == ["https://b/v3/x?cursor=2", "https://b/v3/x?cursor=3"]
    assert await collect_pages("e", "https://b", None, fetch) == Walk("e", [])
