from datetime import date, timedelta

from pipeline.planning import affected_days, contiguous_ranges

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


def test_ranges_merge_small_gaps_only():
    days = [D, D + timedelta(1), D + timedelta(4), D + timedelta(20)]
    assert contiguous_ranges(days, max_gap=3) == [(D, D + timedelta(4)), (D + timedelta(20), D + timedelta(20))]
    assert contiguous_ranges(days, max_gap=0) == [(D, D + timedelta(1)), (D + timedelta(4), D + timedelta(4)),
                                                  (D + timedelta(20), D + timedelta(20))]
