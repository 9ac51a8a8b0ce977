"""What the sandbox reads from CLUSTER NODES (through redis-py's own parser) and how it splits slots."""

from __future__ import annotations

import itertools

from redis._parsers.helpers import parse_cluster_nodes as redis_py_parse

from course.sandbox.cluster_health import peer_problem
from course.sandbox.cluster_view import NodeEntry, nodes_frame, split_slots


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


def test_a_replica_flagged_replica_instead_of_slave_is_a_replica() -> None:
    (entry,) = parse_cluster_nodes("eee 127.0.0.1:7004@17004 replica aaa 0 1 1 connected\n")
    assert (entry.role, entry.master_id) == ("replica", "aaa")


def test_peer_problem_names_a_node_seen_at_another_address() -> None:
    first, second, third, _ = parse_cluster_nodes(
        "aaa 127.0.0.1:7000@17000 master - 0 0 1 connected 0-5460\n"
        "bbb 127.0.0.1:7001@17001 master,fail? - 0 1 2 connected 5461-10922\n"
        "ccc 127.0.0.1:7002@17002 slave aaa 0 1 1 disconnected\n"
        "ddd :0@0 master,noaddr - 0 0 0 disconnected\n"
    )
    assert peer_problem(first, "node-0", "127.0.0.1:7000") is None
    impostor = peer_problem(first, "node-0", "127.0.0.1:7100")
    assert impostor is not None
    assert "node-0's id at 127.0.0.1:7000" in impostor
    assert "another server uses that identity" in impostor
    assert peer_problem(second, "node-1", "127.0.0.1:7001") == "still sees node-1 as fail?"
    assert peer_problem(third, "node-2", "127.0.0.1:7002") == "still sees node-2 as disconnected"


def test_nodes_frame_puts_each_master_before_its_replicas_in_slot_order() -> None:
    view = parse_cluster_nodes(
        "rrr 127.0.0.1:7003@17003 slave bbb 0 1 2 connected\n"
        "bbb 127.0.0.1:7001@17001 master - 0 1 2 connected 5461-16383\n"
        "eee 127.0.0.1:7009@17009 master - 0 1 3 connected\n"
        "aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
    )
    frame = nodes_frame(view, {"aaa": "node-0", "bbb": "node-1", "rrr": "node-3"})
    assert frame["node"].tolist() == ["node-0", "node-1", "node-3", "?"]
    assert frame.loc[2, ["role", "master", "slots"]].tolist() == ["replica", "node-1", 0]
    assert frame.loc[0, "flags"] == "master,myself"
    assert frame.loc[1, "slot_ranges"] == "5461-16383"
