"""What the sandbox reads from CLUSTER NODES (through redis-py's own parser) and how it splits slots."""

from __future__ import annotations

import itertools

from redis._parsers.helpers import parse_cluster_nodes as redis_py_parse

from course.sandbox.cluster_view import NodeEntry, split_slots


def parse_cluster_nodes(text: str) -> list[NodeEntry]:
    return [NodeEntry.from_redis_py(address, fields) for address, fields in redis_py_parse(text).items()]


def test_split_slots_covers_every_slot_like_redis_cli() -> None:
    assert split_slots(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    for masters in (1, 2, 5, 7):
        ranges = split_slots(masters)
        assert ranges[0][0] == 0
        assert ranges[-1][1] == 16383
        assert all(prev[1] + 1 == nxt[0] for prev, nxt in itertools.pairwise(ranges))
        sizes = [last - first + 1 for first, last in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_cluster_nodes_parsing_skips_migrations_and_reads_roles() -> None:
    text = (
        "aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 7000 [5461->-bbb]\n"
        "bbb 127.0.0.1:7001@17001,host-b master - 0 1 2 connected 5461-10922 [5461-<-aaa]\n"
        "ccc 127.0.0.1:7002@17002 slave,fail aaa 0 1 1 disconnected\n"
        "ddd :7003@17003 master,noaddr - 0 0 0 disconnected\n"
    )
    first, second, third, fourth = parse_cluster_nodes(text)
    assert (first.port, first.role, first.myself) == (7000, "master", True)
    assert first.slots == ((0, 5460), (7000, 7000))
    assert first.slot_count == 5462
    assert first.slot_ranges == "0-5460 7000"
    assert first.owns(7000)
    assert not first.owns(5461)
    assert (second.host, second.port, second.slot_count) == ("127.0.0.1", 7001, 5462)
    assert (third.role, third.master_id, third.link_state) == ("replica", "aaa", "disconnected")
    assert "fail" in third.flags
    assert (fourth.host, fourth.port) == ("", 7003)
