"""Hold queues in a real Redis: places by joining time, across boards (nodes), leaving, stale entries."""

from __future__ import annotations

from ivr.store import keys
from ivr.store.queues import QueueBoard

T0 = 1_795_000_000.0


def test_places_follow_the_joining_order_across_nodes_and_advance_when_the_head_leaves(redis_conn):
    node_a, node_b = QueueBoard(redis_conn), QueueBoard(redis_conn)  # two processes, one Redis
    assert node_a.join("owner", "c1", "+441", T0, node="a") == 1
    assert node_b.join("owner", "c2", "+442", T0 + 1, node="b") == 2
    assert node_a.join("owner", "c1", "+441", T0 + 5) == 1  # joining again keeps the first place
    assert node_b.position("owner", "c2", T0 + 2) == 2
    node_a.note("owner", "c1", "ringing +443")
    listing = node_b.waiting("owner", T0 + 10)
    assert [(w.call_id, w.caller, w.position, w.status) for w in listing] == [
        ("c1", "+441", 1, "ringing +443"),
        ("c2", "+442", 2, "waiting"),
    ]
    assert listing[1].waited(T0 + 10) == 9
    node_a.leave("owner", "c1")
    assert node_b.position("owner", "c2", T0 + 11) == 1
    assert node_a.position("owner", "c1", T0 + 11) == 0
    assert list(node_a.snapshot(T0 + 12)) == ["owner"]


def test_an_entry_nobody_touches_leaves_the_queue_and_empty_queues_are_not_listed(redis_conn):
    board = QueueBoard(redis_conn)
    board.join("sales", "dead", "+441", T0)
    board.join("sales", "alive", "+442", T0 + 1)
    assert 0 < redis_conn.ttl(keys.queue_callers("sales")) <= 4 * keys.QUEUE_STALE  # abandoned queues expire
    later = T0 + keys.QUEUE_STALE + 0.5
    assert board.position("sales", "alive", later) == 1  # the dead node's caller no longer blocks the line
    assert [w.call_id for w in board.waiting("sales", later)] == ["alive"]
    board.leave("sales", "alive")
    assert board.snapshot(later) == {}


def test_a_caller_who_joined_long_ago_keeps_the_first_place_while_touched(redis_conn):
    board = QueueBoard(redis_conn)
    later = T0 + 10 * keys.QUEUE_STALE
    board.join("q", "new", "+442", later)
    board.join("q", "old", "+441", later, since=T0)  # Twilio: waited QueueTime seconds before we heard of it
    assert [(w.call_id, w.position, w.waited(later)) for w in board.waiting("q", later)] == [
        ("old", 1, 10 * keys.QUEUE_STALE),
        ("new", 2, 0),
    ]
