"""07_caching, Part A: cache-aside for reviews, with negative caching.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells, variant

A = cells("part-a")

MARKER_AND_PX = """
NOTHING = "\\x00no-such-product"


def cached_reviews(client, db, product_id, *, ttl=300, negative_ttl=30):
    if min(ttl, negative_ttl) < 1:
        raise ValueError(f"TTLs must be >= 1 s, got {ttl} and {negative_ttl}")
    key = "reviews:" + str(product_id)
    raw = client.get(key)
    if raw == NOTHING:
        return None
    if raw is not None:
        return json.loads(raw)
    found = db.reviews(product_id)
    if found is None:
        client.set(key, NOTHING, px=negative_ttl * 1000)
    else:
        client.set(key, json.dumps(found), px=ttl * 1000)
    return found
"""

A_SET = "    client.set(key, json.dumps(reviews), ex=ttl if reviews is not None else negative_ttl)\n"
A_RAISE = '    if ttl < 1 or negative_ttl < 1:\n        raise ValueError("ttl and negative_ttl must be at least 1 second")\n'

# (name, text in our solution, replacement): each one a plausible mistake.
SWAPS = [
    (
        "truthiness test on the cached answer",
        "if cached is not None:",
        "if cached and json.loads(cached):",
    ),
    (
        "empty answers not cached",
        A_SET,
        "    if reviews:\n        client.set(key, json.dumps(reviews), ex=ttl)\n",
    ),
    (
        "no negative caching",
        A_SET,
        "    if reviews is not None:\n        client.set(key, json.dumps(reviews), ex=ttl)\n",
    ),
    ("absence cached for the full ttl", A_SET, "    client.set(key, json.dumps(reviews), ex=ttl)\n"),
    ("no TTL", A_SET, "    client.set(key, json.dumps(reviews))\n"),
    ("TTL in milliseconds", "ex=ttl if reviews", "px=ttl if reviews"),
    ("empty list cached as absence", "ex=ttl if reviews is not None else", "ex=ttl if reviews else"),
    (
        "TTLs swapped",
        "ex=ttl if reviews is not None else negative_ttl",
        "ex=negative_ttl if reviews is not None else ttl",
    ),
    ("wrong key", 'key = f"reviews:{product_id}"', 'key = f"review:{product_id}"'),
    ("no validation", A_RAISE, ""),
    ("ttl 0 accepted", "if ttl < 1 or negative_ttl < 1:", "if ttl < 0 or negative_ttl < 0:"),
    (
        "a second query to check existence",
        "reviews = db.reviews(product_id)",
        "reviews = db.reviews(product_id) if db.reviews(product_id) is not None else None",
    ),
]

MUTANTS = [variant(name, A, (old, new)) for name, old, new in SWAPS]

ALTERNATIVES = [
    Variant("a marker string for absence, PX in milliseconds", *A, source=MARKER_AND_PX),
]
