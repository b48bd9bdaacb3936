from datetime import date, timedelta

from pipeline.planning import affected_days, key_ranges, keys_between, keys_to_process
from pipeline.stage import UNDATED, sort_keys

D = date(2026, 11, 1)


def test_late_day_pulls_in_later_days_within_the_window():
    existing = [D + timedelta(days=i) for i in range(60)]
    days = affected_days([D + timedelta(days=5)], existing=existing, window_days=30)
    assert min(days) == D + timedelta(days=5) and max(days) == D + timedelta(days=35)
    assert len(days) == 31


def test_unlimited_window_pulls_in_every_later_day():
    existing = [D + timedelta(days=i) for i in range(10)]
    assert affected_days([D], existing=existing, window_days=None) == set(existing)


def test_nothing_touched_means_nothing_to_do():
    assert affected_days([], existing=[D], window_days=30) == set()


def k(i: int) -> str:
    return (D + timedelta(days=i)).isoformat()


def test_ranges_follow_key_order_and_bridge_small_gaps_only():
    keys = [k(0), k(1), k(4), k(20), k(50), UNDATED]
    # Keys are days with data: k(1) and k(4) are neighbours, whatever the calendar gap.
    assert key_ranges([k(0), k(4), k(50)], keys=keys, max_gap=0) == [(k(0), k(0)), (k(4), k(4)), (k(50), k(50))]
    assert key_ranges([k(0), k(4), k(50)], keys=keys, max_gap=1) == [(k(0), k(50))]
    assert key_ranges([k(0), k(50)], keys=keys, max_gap=2) == [(k(0), k(0)), (k(50), k(50))]
    assert key_ranges([k(50), UNDATED], keys=keys) == [(k(50), k(50)), (UNDATED, UNDATED)]
    assert keys_between(keys, k(1), k(20)) == [k(1), k(4), k(20)]


def test_keys_sort_by_day_then_undated():
    assert sort_keys([UNDATED, k(3), k(1)]) == [k(1), k(3), UNDATED]


def test_a_day_is_done_only_after_its_inputs_and_its_window_inputs():
    keys = [k(0), k(1), k(2), k(40), UNDATED]
    inputs = {k(0): 10, k(1): 11, k(2): 12, k(40): 13, UNDATED: 14}
    done = {k(0): 20, k(1): 21, k(2): 22, k(40): 23, UNDATED: 24}
    assert keys_to_process(keys, inputs=inputs, done=done, window_days=30) == []
    # A late article for day 1: day 1 and day 2 (window) are to do, day 40 is outside the window.
    late = {**inputs, k(1): 30}
    assert keys_to_process(keys, inputs=late, done=done, window_days=30) == [k(1), k(2)]
    assert keys_to_process(keys, inputs=late, done=done, window_days=None) == [k(1), k(2), k(40)]
    # A day whose last stage never finished (killed, failed check) is to do; so is a new undated document.
    partial = {key: v for key, v in done.items() if key != k(0)}
    assert keys_to_process(keys, inputs=inputs, done=partial, window_days=30) == [k(0)]
    assert keys_to_process(keys, inputs={**inputs, UNDATED: 99}, done=done, window_days=30) == [UNDATED]
