"""04_performance, Part A: a pipelined bulk loader.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

A = cells("part-a")

LOADER_ONE_AT_A_TIME = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded = 0
    for key, fields in records:
        client.hset(key, mapping=fields)
        if ttl_seconds is not None:
            client.expire(key, ttl_seconds)
        loaded += 1
    return loaded
"""

LOADER_TTL_SEPARATE_ROUND_TRIP = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded, batch = 0, []
    def flush():
        pipe = client.pipeline(transaction=False)
        for key, fields in batch:
            pipe.hset(key, mapping=fields)
        pipe.execute()
        if ttl_seconds is not None:
            pipe = client.pipeline(transaction=False)
            for key, _ in batch:
                pipe.expire(key, ttl_seconds)
            pipe.execute()
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            flush()
            loaded += len(batch)
            batch = []
    if batch:
        flush()
        loaded += len(batch)
    return loaded
"""

LOADER_BATCH_COUNTS_COMMANDS = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    pipe = client.pipeline(transaction=False)
    loaded = 0
    for key, fields in records:
        pipe.hset(key, mapping=fields)
        if ttl_seconds is not None:
            pipe.expire(key, ttl_seconds)
        loaded += 1
        if len(pipe) >= batch_size:
            pipe.execute()
    if len(pipe):
        pipe.execute()
    return loaded
"""

LOADER_ISLICE_CHUNKS = """
def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    iterator, total = iter(records), 0
    while chunk := list(itertools.islice(iterator, batch_size)):
        with client.pipeline(transaction=False) as pipe:
            for key, fields in chunk:
                pipe.hset(key, items=[part for pair in fields.items() for part in pair])
                if ttl_seconds:
                    pipe.expire(key, ttl_seconds)
            pipe.execute()
        total += len(chunk)
    return total
"""

LOADER_LUA = """
import json

LOAD_SCRIPT = '''
local ttl = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  local flat = {}
  for field, value in pairs(cjson.decode(ARGV[i])) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  redis.call('HSET', key, unpack(flat))
  if ttl ~= '' then redis.call('EXPIRE', key, ttl) end
end
return #KEYS
'''

def bulk_load(client, records, batch_size=1000, ttl_seconds=None):
    if batch_size < 1:
        raise ValueError("batch_size")
    loaded, chunk = 0, []
    def send():
        keys = [key for key, _ in chunk]
        args = [json.dumps(fields, ensure_ascii=False) for _, fields in chunk]
        return client.eval(LOAD_SCRIPT, len(keys), *keys, *args, "" if ttl_seconds is None else ttl_seconds)
    for record in records:
        chunk.append(record)
        if len(chunk) == batch_size:
            loaded += send()
            chunk = []
    if chunk:
        loaded += send()
    return loaded
"""

MUTANTS = [
    Variant("one HSET per round trip", *A, source=LOADER_ONE_AT_A_TIME),
    Variant(
        "unbounded batch: everything in one pipeline",
        *A,
        replace=(
            (
                "        if pending == batch_size:  # one round trip per full batch\n            pipe.execute()\n            loaded, pending = loaded + pending, 0\n",
                "",
            ),
        ),
    ),
    Variant(
        "batches one record too big",
        *A,
        replace=(("if pending == batch_size:", "if pending == batch_size + 1:"),),
    ),
    Variant("MULTI/EXEC pipeline", *A, replace=(("transaction=False", "transaction=True"),)),
    Variant(
        "last partial batch dropped",
        *A,
        replace=(
            (
                "    if pending:  # the last, partial batch\n        pipe.execute()\n        loaded += pending\n",
                "",
            ),
        ),
    ),
    Variant(
        "reads every record before sending",
        *A,
        replace=(("for key, fields in records:", "for key, fields in list(records):"),),
    ),
    Variant("expiry in a round trip of its own", *A, source=LOADER_TTL_SEPARATE_ROUND_TRIP),
    Variant(
        "ttl_seconds taken as milliseconds",
        *A,
        replace=(("pipe.expire(key, ttl_seconds)", "pipe.pexpire(key, ttl_seconds)"),),
    ),
    Variant("batch_size counts commands, not records", *A, source=LOADER_BATCH_COUNTS_COMMANDS),
    Variant(
        "a new client per call",
        *A,
        replace=(
            (
                "pipe = client.pipeline(transaction=False)",
                'pipe = redis.Redis(host=client.connection_pool.connection_kwargs["host"], port=client.connection_pool.connection_kwargs["port"]).pipeline(transaction=False)',
            ),
        ),
    ),
    Variant(
        "returns the number of batches",
        *A,
        replace=(("    return loaded\n", "    return -(-loaded // batch_size)\n"),),
    ),
    Variant(
        "no ValueError for batch_size < 1",
        *A,
        replace=(
            ('    if batch_size < 1:\n        raise ValueError("batch_size must be at least 1")\n', ""),
        ),
    ),
]

ALTERNATIVES = [
    Variant("loader with islice chunks and a pipeline per chunk", *A, source=LOADER_ISLICE_CHUNKS),
    Variant("loader as one Lua script per batch", *A, source=LOADER_LUA),
]
