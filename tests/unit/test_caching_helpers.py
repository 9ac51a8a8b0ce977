"""course.lessons.caching without servers: the catalogue database, load generators and TTL maths."""

from __future__ import annotations

import collections
import math
import random
import threading

import pytest

from course.lessons.caching import (
    CatalogDB,
    binomial_bounds,
    jittered_ttl,
    latency_row,
    refresh_probability,
    run_at_once,
    zipf_ids,
)


@pytest.fixture(scope="module")
def catalog() -> CatalogDB:
    return CatalogDB(products=50, order_lines=2_000, seed=1)


def test_catalog_counts_each_read_as_one_query(catalog: CatalogDB) -> None:
    catalog.reset_counts()
    product = catalog.product(3)
    assert product is not None
    assert product["id"] == 3
    assert product["version"] >= 1
    assert product["units_sold"] >= product["orders"] >= 0
    assert catalog.reviews(3) is not None
    assert catalog.product(999) is None
    assert catalog.reviews(999) is None
    assert (catalog.queries, catalog.writes) == (4, 0)


def test_catalog_counts_statements_sent_through_its_connection(catalog: CatalogDB) -> None:
    catalog.reset_counts()
    catalog.connection.execute("SELECT COUNT(*) FROM order_lines").fetchone()
    catalog.connection.execute("  select 1").fetchone()
    assert catalog.queries == 2


def test_reviews_distinguish_an_empty_list_from_no_product() -> None:
    with CatalogDB(products=20, order_lines=0, empty_every=5, seed=2) as catalog:
        answers = {i: catalog.reviews(i) for i in range(1, 21)}
    assert [i for i, a in answers.items() if a == []] == [5, 10, 15, 20]
    assert all(a for i, a in answers.items() if i % 5)
    assert all(set(review) == {"id", "stars", "body"} for a in answers.values() for review in a or [])


def test_the_same_seed_gives_the_same_catalogue() -> None:
    with (
        CatalogDB(products=30, order_lines=500, seed=7) as one,
        CatalogDB(products=30, order_lines=500, seed=7) as two,
    ):
        assert [one.product(i) for i in range(1, 31)] == [two.product(i) for i in range(1, 31)]
        assert [one.reviews(i) for i in range(1, 31)] == [two.reviews(i) for i in range(1, 31)]


def test_set_price_bumps_the_version_in_one_write() -> None:
    with CatalogDB(products=5, order_lines=0) as catalog:
        catalog.reset_counts()
        assert catalog.set_price(2, 1234) == 2
        assert catalog.set_price(2, 4321) == 3
        assert catalog.writes == 2
        product = catalog.product(2)
        assert product is not None
        assert (product["price_cents"], product["version"]) == (4321, 3)
        assert catalog.version(2) == 3
        assert catalog.version(99) is None
        with pytest.raises(KeyError):
            catalog.set_price(99, 1)
        assert catalog.set_price(2, 5) == 4, "a failed write leaves no transaction open"


def test_added_products_and_reviews_are_visible() -> None:
    with CatalogDB(products=5, order_lines=0) as catalog:
        new = catalog.add_product("late")
        assert new == 6
        assert catalog.reviews(new) == []
        catalog.add_review(new, 4, "good")
        assert catalog.reviews(new) == [{"id": catalog.reviews(new)[0]["id"], "stars": 4, "body": "good"}]


def test_catalog_serves_threads_and_counts_them_all() -> None:
    with CatalogDB(products=20, order_lines=1_000) as catalog:
        catalog.reset_counts()
        outcomes = run_at_once(lambda i: [catalog.product(1 + (i + n) % 20) for n in range(10)], 8)
        assert all(outcome.error is None for outcome in outcomes)
        assert catalog.queries == 80


def test_catalog_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="products"):
        CatalogDB(products=0)
    with pytest.raises(ValueError, match="empty_every"):
        CatalogDB(empty_every=0)


def test_zipf_ids_are_seeded_in_range_and_skewed() -> None:
    ids = zipf_ids(100, 5_000, seed=3)
    assert ids == zipf_ids(100, 5_000, seed=3) != zipf_ids(100, 5_000, seed=4)
    assert min(ids) >= 1
    assert max(ids) <= 100
    counts = collections.Counter(ids)
    assert counts.most_common(1)[0][0] == 1
    assert counts[1] > 3 * counts[10]


def test_run_at_once_releases_every_thread_together() -> None:
    active, everyone = [0], threading.Event()
    lock = threading.Lock()

    def call(index: int) -> int:
        with lock:
            active[0] += 1
            if active[0] == 6:
                everyone.set()
        assert everyone.wait(10), "not all calls were running at the same time"
        return index * 10

    outcomes = run_at_once(call, 6)
    assert [outcome.result for outcome in outcomes] == [0, 10, 20, 30, 40, 50]
    assert all(outcome.error is None and outcome.seconds >= 0 for outcome in outcomes)


def test_run_at_once_reports_errors_and_calls_that_do_not_finish() -> None:
    release = threading.Event()

    def call(index: int) -> int:
        if index == 0:
            raise RuntimeError("boom")
        if index == 1:
            release.wait(10)
        return index

    outcomes = run_at_once(call, 3, timeout=0.5)
    release.set()
    assert isinstance(outcomes[0].error, RuntimeError)
    assert isinstance(outcomes[1].error, TimeoutError)
    assert outcomes[2].result == 2
    with pytest.raises(ValueError, match="threads"):
        run_at_once(call, 0)


def test_latency_row_is_in_milliseconds() -> None:
    row = latency_row([0.001 * n for n in range(1, 101)])
    assert row == pytest.approx({"p50 (ms)": 50.0, "p99 (ms)": 99.0, "max (ms)": 100.0})


def test_jittered_ttl_stays_within_the_spread_and_spreads() -> None:
    rng = random.Random(5)
    draws = [jittered_ttl(60, 0.2, rng) for _ in range(1_000)]
    assert min(draws) >= 48
    assert max(draws) <= 72
    assert len(set(draws)) > 15, "a spread of ±20 % of 60 s covers about 25 whole seconds"
    assert abs(sum(draws) / len(draws) - 60) < 1
    assert jittered_ttl(60, 0.0) == 60
    assert jittered_ttl(0.2, 0.1) == 1, "never below one second"
    assert [jittered_ttl(60, 0.2, random.Random(9)) for _ in range(3)] == [
        jittered_ttl(60, 0.2, random.Random(9)) for _ in range(3)
    ]


@pytest.mark.parametrize(("ttl", "spread"), [(0, 0.1), (-5, 0.1), (60, -0.1), (60, 1.0)])
def test_jittered_ttl_rejects_bad_arguments(ttl: float, spread: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        jittered_ttl(ttl, spread)


def test_refresh_probability_is_the_xfetch_closed_form() -> None:
    assert refresh_probability(1.0, 1.0) == pytest.approx(math.exp(-1))
    assert refresh_probability(4.0, 2.0, beta=2.0) == pytest.approx(math.exp(-1))
    assert refresh_probability(0.0, 1.0) == 1.0
    assert refresh_probability(-3.0, 1.0) == 1.0
    assert refresh_probability(1.0, 1.0, beta=0.0) == 0.0
    assert refresh_probability(1.0, 1.0, beta=2.0) > refresh_probability(1.0, 1.0, beta=1.0)
    assert refresh_probability(1.0, 5.0) > refresh_probability(1.0, 1.0), "slow values refresh earlier"
    with pytest.raises(ValueError, match="delta"):
        refresh_probability(1.0, 0.0)
    with pytest.raises(ValueError, match="beta"):
        refresh_probability(1.0, 1.0, beta=-1.0)


@pytest.mark.parametrize(("remaining", "delta", "beta"), [(0.5, 1.0, 1.0), (2.0, 1.0, 1.0), (3.0, 1.0, 2.0)])
def test_the_xfetch_rule_refreshes_as_often_as_the_formula_says(
    remaining: float, delta: float, beta: float
) -> None:
    # now - delta * beta * ln(u) >= expiry, with expiry = now + remaining and u uniform in (0, 1].
    rng = random.Random(11)
    trials = 20_000
    refreshed = sum(-delta * beta * math.log(1.0 - rng.random()) >= remaining for _ in range(trials))
    low, high = binomial_bounds(trials, refresh_probability(remaining, delta, beta))
    assert low <= refreshed <= high


def test_binomial_bounds_hold_the_mean_and_widen_with_the_square_root() -> None:
    low, high = binomial_bounds(400, 0.5)
    assert low < 200 < high
    assert (low, high) == (149, 251)
    wide = binomial_bounds(1600, 0.5)
    assert wide[1] - wide[0] == pytest.approx(2 * (high - low), abs=3)
    assert binomial_bounds(100, 0.0) == (0, 1)
    assert binomial_bounds(100, 1.0) == (99, 100)
    with pytest.raises(ValueError, match="trials"):
        binomial_bounds(0, 0.5)
    with pytest.raises(ValueError, match="probability"):
        binomial_bounds(10, 1.5)


def test_a_wrong_logarithm_falls_outside_the_bounds() -> None:
    """The bounds are tight enough to tell ln from log10 at the sample sizes Part D uses."""
    rng = random.Random(12)
    trials, remaining, delta = 400, 5.0, 10.0
    low, high = binomial_bounds(trials, refresh_probability(remaining, delta))
    wrong = sum(-delta * math.log10(1.0 - rng.random()) >= remaining for _ in range(trials))
    assert not low <= wrong <= high


def test_best_sellers_rank_a_category_by_units_sold(catalog: CatalogDB) -> None:
    catalog.reset_counts()
    report = catalog.best_sellers("books", limit=5)
    assert catalog.queries == 1
    totals = collections.Counter()
    rows = catalog.connection.execute(
        "SELECT o.product_id, o.quantity FROM order_lines o JOIN products p ON p.id = o.product_id"
        " WHERE p.category = 'books'"
    ).fetchall()
    for product_id, quantity in rows:
        totals[product_id] += quantity
    expected = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [(row["id"], row["units_sold"]) for row in report] == expected
    assert catalog.best_sellers("no such category") == []
