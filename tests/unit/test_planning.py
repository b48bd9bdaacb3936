from datetime import date, timedelta

from pipeline.planning import (
    Written,
    affected_days,
    describe_outdated,
    key_ranges,
    keys_between,
    keys_to_process,
    outdated_keys,
)
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


def test_a_window_read_that_missed_signatures_leaves_the_day_to_do():
    """Runs on neighbouring days at once: a day whose duplicates were computed while a window day had no
    current signatures (unseen), or before a window day's documents changed, is not done."""
    from pipeline.planning import WindowRead, earlier_window_keys, not_current

    keys = [k(0), k(1), k(2), k(3), k(40)]
    inputs = {key: 10 + i for i, key in enumerate(keys)}
    done = {key: 100 + i for i, key in enumerate(keys)}
    # Days 2 and 3 ran (one run) before day 1's signatures existed; day 40 is out of everyone's window.
    assert earlier_window_keys(keys, k(2), window_days=30) == [k(0), k(1)]
    assert earlier_window_keys(keys, k(40), window_days=30) == []
    assert earlier_window_keys(keys, k(40), window_days=None) == [k(0), k(1), k(2), k(3)]
    assert not_current([k(0), k(1)], inputs=inputs, signatures={k(0): 50}) == [k(1)]
    reads = {k(2): WindowRead(60, (k(1),)), k(3): WindowRead(61, (k(1),)), k(40): WindowRead(62)}
    assert keys_to_process(keys, inputs=inputs, done=done, window_days=30, reads=reads) == [k(2), k(3)]
    # Redone after day 1's signatures landed: nothing unseen, done.
    again = {**reads, k(2): WindowRead(90), k(3): WindowRead(91)}
    assert keys_to_process(keys, inputs=inputs, done=done, window_days=30, reads=again) == []
    # A window day's documents written after the read (before the last table): to do, though done is later.
    late = {**inputs, k(0): 95}
    assert keys_to_process(keys, inputs=late, done=done, window_days=30, reads=again) == [k(2), k(3)]
    # A day's own documents are judged by done alone (its signatures are written before its read); the later
    # day whose window holds it read before them.
    own = {**inputs, k(2): 95}
    assert keys_to_process(keys, inputs=own, done=done, window_days=30, reads=again) == [k(3)]


def test_days_written_by_other_code_are_outdated_per_stage():
    current = {"dedup": Written("dedup-8", "s1"), "entities": Written("entities-1", "e1")}
    written = {
        "dedup": {k(0): Written("dedup-7", "s1"), k(1): Written("dedup-8", "s1"), k(2): Written("dedup-7", "s1")},
        "entities": {k(0): Written("entities-1", "e1"), k(1): Written("entities-0", "e1"), k(2): Written("entities-1")},
        "sentences": {k(0): Written("segment-1")},  # a stage no longer current is not judged
    }
    written["dedup"][UNDATED] = Written(None)
    out = outdated_keys(written, current)
    assert out == {
        k(0): {"dedup": Written("dedup-7", "s1")},
        k(1): {"entities": Written("entities-0", "e1")},
        k(2): {"dedup": Written("dedup-7", "s1")},
        UNDATED: {"dedup": Written(None)},
    }
    assert list(out) == [k(0), k(1), k(2), UNDATED]
    assert outdated_keys({"dedup": {k(0): Written("dedup-8", "s1")}}, current) == {}
    assert outdated_keys({}, current) == {}  # never written: not done, not outdated
    assert describe_outdated(out, current) == [
        f"dedup: 2 day(s) written by dedup-7, now dedup-8 ({k(0)} .. {k(2)})",
        f"dedup: 1 day(s) written by unrecorded, now dedup-8 ({UNDATED})",
        f"entities: 1 day(s) written by entities-0, now entities-1 ({k(1)})",
    ]


def test_days_written_with_other_settings_are_outdated_per_stage():
    current = {"dedup": Written("dedup-9", "new"), "sentences": Written("segment-2", "s")}
    written = {
        "dedup": {k(0): Written("dedup-9", "old"), k(1): Written("dedup-9", "new"), k(2): Written("dedup-9", "old")},
        # a day written before digests were recorded is judged by its code alone
        "sentences": {k(0): Written("segment-2"), k(1): Written("segment-2", "s")},
    }
    out = outdated_keys(written, current)
    assert out == {k(0): {"dedup": Written("dedup-9", "old")}, k(2): {"dedup": Written("dedup-9", "old")}}
    assert describe_outdated(out, current) == [
        f"dedup: 2 day(s) written with other [dedup] settings (old, now new) ({k(0)} .. {k(2)})"
    ]
    # other code and other settings: the code is what the line names
    both = outdated_keys({"dedup": {k(0): Written("dedup-8", "old"), k(1): Written("dedup-8", "new")}}, current)
    assert describe_outdated(both, current) == [f"dedup: 2 day(s) written by dedup-8, now dedup-9 ({k(0)} .. {k(1)})"]
    # settings that return to what wrote a day make it current again
    assert outdated_keys(written, {"dedup": Written("dedup-9", "old")}) == {k(1): {"dedup": Written("dedup-9", "new")}}
