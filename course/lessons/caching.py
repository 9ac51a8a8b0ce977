"""The caching lesson's database of record, its instrumentation, load generators and measurements.

* :class:`CatalogDB` - a real sqlite3 catalogue (products, reviews, order lines) whose connection
  counts every statement it runs, so a cache's effect is measured in database queries.
  :meth:`CatalogDB.product` is a report-style join and aggregate over the order lines (a few
  milliseconds), :meth:`CatalogDB.best_sellers` a report over every order line (the hot key of the
  stampede lesson); :meth:`CatalogDB.reviews` is cheap and may be empty (``[]``) or absent (``None``).
* :func:`zipf_ids` - a seeded, skewed sequence of product ids, the shape of real read traffic.
* :func:`run_at_once` - call a function from N threads released together (a stampede).
* :func:`latency_row` - p50 / p99 of latency samples, in milliseconds.
* :func:`jittered_ttl` - a TTL spread at random around its nominal value.
* :func:`refresh_probability` / :func:`binomial_bounds` - the maths of probabilistic early refresh
  and how far a measured count of refreshes may stray from it.
"""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from course.lessons.performance import zipf_trace
from course.measure import percentile

T = TypeVar("T")

SCHEMA = """
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    stars INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX reviews_by_product ON reviews(product_id);
-- No index on order_lines.product_id on purpose: the sales figures are a report over the whole
-- table, the kind of query an application caches.
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    day INTEGER NOT NULL
);
"""

PRODUCT_QUERY = """
SELECT p.id, p.name, p.category, p.price_cents, p.version,
       COUNT(o.id) AS orders, COALESCE(SUM(o.quantity), 0) AS units_sold
FROM products AS p LEFT JOIN order_lines AS o ON o.product_id = p.id
WHERE p.id = ?
GROUP BY p.id
"""

BEST_SELLERS_QUERY = """
SELECT p.id, p.name, SUM(o.quantity) AS units_sold
FROM order_lines AS o JOIN products AS p ON p.id = o.product_id
WHERE p.category = ?
GROUP BY p.id
ORDER BY units_sold DESC, p.id
LIMIT ?
"""

REVIEWS_QUERY = """
SELECT p.id, r.id, r.stars, r.body
FROM products AS p LEFT JOIN reviews AS r ON r.product_id = p.id
WHERE p.id = ?
ORDER BY r.id
"""

CATEGORIES = ("books", "garden", "kitchen", "music", "games", "tools", "toys", "travel")
READ_WORDS = frozenset({"SELECT", "WITH"})
WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})


class CatalogDB:
    """An sqlite3 database of record that counts the statements its connection runs.

    ``queries`` counts reads (``SELECT``), ``writes`` counts ``INSERT`` / ``UPDATE`` / ``DELETE``,
    from the connection's own trace callback: a statement sent through :attr:`connection`
    directly is counted too. Methods are safe to call from several threads (one connection,
    one lock: like a small database, it serves one query at a time).

    Product ids run from 1 to ``products``. About one product in ``empty_every`` has no review.
    """

    def __init__(
        self,
        products: int = 500,
        *,
        order_lines: int = 30_000,
        reviews_per_product: int = 3,
        empty_every: int = 5,
        seed: int = 0,
    ) -> None:
        if products < 1 or order_lines < 0 or reviews_per_product < 0 or empty_every < 1:
            raise ValueError("products must be at least 1, counts not negative, empty_every at least 1")
        self.products = products
        self._lock = threading.RLock()
        self.connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.queries = 0
        self.writes = 0
        self._seed(random.Random(seed), order_lines, reviews_per_product, empty_every)
        self.connection.set_trace_callback(self._count)

    # -- instrumentation ---------------------------------------------------------------------------

    def _count(self, statement: str) -> None:
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if word in READ_WORDS:
            self.queries += 1
        elif word in WRITE_WORDS:
            self.writes += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.queries = 0
            self.writes = 0

    # -- seeding -----------------------------------------------------------------------------------

    def _seed(self, rng: random.Random, order_lines: int, reviews_per_product: int, empty_every: int) -> None:
        db = self.connection
        db.executescript(SCHEMA)
        ids = range(1, self.products + 1)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO products (id, name, category, price_cents) VALUES (?, ?, ?, ?)",
            [(i, f"product {i}", rng.choice(CATEGORIES), rng.randint(100, 20_000)) for i in ids],
        )
        reviewed = [i for i in ids if i % empty_every != 0]
        db.executemany(
            "INSERT INTO reviews (product_id, stars, body) VALUES (?, ?, ?)",
            [
                (i, rng.randint(1, 5), f"review {n} of product {i}")
                for i in reviewed
                for n in range(rng.randint(1, max(1, 2 * reviews_per_product - 1)))
            ]
            if reviews_per_product
            else [],
        )
        db.executemany(
            "INSERT INTO order_lines (product_id, quantity, day) VALUES (?, ?, ?)",
            [
                (rng.randint(1, self.products), rng.randint(1, 5), rng.randint(0, 364))
                for _ in range(order_lines)
            ],
        )
        db.execute("COMMIT")

    # -- reads -------------------------------------------------------------------------------------

    def product(self, product_id: int) -> dict[str, Any] | None:
        """The product with its sales figures (one join and aggregate), or ``None``."""
        with self._lock:
            row = self.connection.execute(PRODUCT_QUERY, (product_id,)).fetchone()
        if row is None:
            return None
        names = ("id", "name", "category", "price_cents", "version", "orders", "units_sold")
        return dict(zip(names, row, strict=True))

    def best_sellers(self, category: str, limit: int = 10) -> list[dict[str, Any]]:
        """The ``limit`` best-selling products of ``category``: a join and aggregate over every order line."""
        with self._lock:
            rows = self.connection.execute(BEST_SELLERS_QUERY, (category, limit)).fetchall()
        return [{"id": pid, "name": name, "units_sold": units} for pid, name, units in rows]

    def reviews(self, product_id: int) -> list[dict[str, Any]] | None:
        """The product's reviews (``[]`` if it has none), or ``None`` if there is no such product."""
        with self._lock:
            rows = self.connection.execute(REVIEWS_QUERY, (product_id,)).fetchall()
        if not rows:
            return None
        return [{"id": rid, "stars": stars, "body": body} for _, rid, stars, body in rows if rid is not None]

    def version(self, product_id: int) -> int | None:
        """The product row's version (bumped by every :meth:`set_price`), or ``None``."""
        with self._lock:
            row = self.connection.execute(
                "SELECT version FROM products WHERE id = ?", (product_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------------------------

    def set_price(self, product_id: int, price_cents: int) -> int:
        """Change a price and bump the row's version in one transaction; return the new version."""
        with self._lock:
            db = self.connection
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "UPDATE products SET price_cents = ?, version = version + 1 WHERE id = ?"
                    " RETURNING version",
                    (price_cents, product_id),
                )
                row = cursor.fetchone()
                if row is None:
                    raise KeyError(f"no product {product_id}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(row[0])

    def add_product(self, name: str, category: str = "books", price_cents: int = 1000) -> int:
        """Insert a product (no reviews yet); return its id."""
        with self._lock:
            cursor = self.connection.execute(
                "INSERT INTO products (name, category, price_cents) VALUES (?, ?, ?)",
                (name, category, price_cents),
            )
        return int(cursor.lastrowid or 0)

    def add_review(self, product_id: int, stars: int, body: str) -> int:
        with self._lock:
            cursor = self.connection.execute(
                "INSERT INTO reviews (product_id, stars, body) VALUES (?, ?, ?)", (product_id, stars, body)
            )
        return int(cursor.lastrowid or 0)

    # -- life cycle --------------------------------------------------------------------------------

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CatalogDB {self.products} products, {self.queries} queries, {self.writes} writes>"


# -- load --------------------------------------------------------------------------------------------


def zipf_ids(n_products: int, length: int, *, seed: int = 0, exponent: float = 1.0) -> list[int]:
    """``length`` product ids in 1..``n_products``; id k is drawn with weight 1 / k**exponent."""
    return [int(key) + 1 for key in zipf_trace(n_products, length, exponent=exponent, seed=seed, prefix="")]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One thread's call: its result (or the error it raised) and how long it took."""

    result: T | None
    seconds: float
    error: BaseException | None = None


def run_at_once(call: Callable[[int], T], threads: int, *, timeout: float = 60.0) -> list[Outcome[T]]:
    """Call ``call(i)`` for i in 0..threads-1, each in its own thread, all released together.

    Returns the outcomes in thread order. A thread still running after ``timeout`` seconds is
    reported with a ``TimeoutError``.
    """
    if threads < 1:
        raise ValueError("threads must be at least 1")
    barrier = threading.Barrier(threads)
    outcomes: list[Outcome[T] | None] = [None] * threads

    def worker(index: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            result = call(index)
        except BaseException as error:  # reported, not lost in the thread
            outcomes[index] = Outcome(None, time.perf_counter() - started, error)
        else:
            outcomes[index] = Outcome(result, time.perf_counter() - started)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        outcome if outcome is not None else Outcome(None, timeout, TimeoutError("the call did not finish"))
        for outcome in outcomes
    ]


def latency_row(seconds: Sequence[float]) -> dict[str, float]:
    """``{"p50 (ms)": ..., "p99 (ms)": ..., "max (ms)": ...}`` of latency samples given in seconds."""
    milliseconds = [s * 1000 for s in seconds]
    return {
        "p50 (ms)": percentile(milliseconds, 50),
        "p99 (ms)": percentile(milliseconds, 99),
        "max (ms)": max(milliseconds),
    }


# -- TTL maths ---------------------------------------------------------------------------------------


def jittered_ttl(ttl: float, spread: float = 0.1, rng: random.Random | None = None) -> int:
    """A whole number of seconds drawn uniformly from ``ttl * (1 ± spread)``, at least 1.

    Keys written together with one TTL expire together, and their misses arrive together; a
    random spread turns that burst into a trickle.
    """
    if ttl <= 0 or not 0 <= spread < 1:
        raise ValueError("ttl must be positive and spread in [0, 1)")
    draw = (rng or random).uniform(ttl * (1 - spread), ttl * (1 + spread))
    return max(1, round(draw))


def refresh_probability(remaining: float, delta: float, beta: float = 1.0) -> float:
    """Chance that XFetch refreshes a value with ``remaining`` seconds left: exp(-remaining / (beta * delta)).

    XFetch recomputes when ``now - delta * beta * ln(u) >= expiry`` with u uniform in (0, 1];
    ``-ln(u)`` is exponentially distributed, hence this closed form. ``delta`` is how long a
    recomputation takes, in the same unit as ``remaining``.
    """
    if delta <= 0 or beta < 0:
        raise ValueError("delta must be positive and beta not negative")
    if remaining <= 0:
        return 1.0
    if beta == 0:
        return 0.0
    return math.exp(-remaining / (beta * delta))


def binomial_bounds(trials: int, probability: float, sigmas: float = 5.0) -> tuple[int, int]:
    """The range of successes a fair test accepts: mean ± ``sigmas`` standard deviations, plus one.

    With 5 standard deviations a correct implementation fails about once in 1.7 million runs.
    """
    if trials < 1 or not 0 <= probability <= 1:
        raise ValueError("trials must be at least 1 and probability in [0, 1]")
    mean = trials * probability
    spread = sigmas * math.sqrt(trials * probability * (1 - probability)) + 1
    return max(0, math.floor(mean - spread)), min(trials, math.ceil(mean + spread))
