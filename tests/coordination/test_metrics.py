"""Every metric on a hand-built week with known answers (see ``metrics_history``)."""

import pytest

from coordination.metrics import (
    MetricsQuery,
    metrics_query_parse,
    metrics_summary,
    percentile,
)
from exceptions.models import ExceptionPolicy
from kernel.errors import InvalidInputError

from .metrics_history import WEEK_END, WEEK_START, at, build_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(db):
    return build_history()


def week(**filters) -> dict:
    return metrics_summary(MetricsQuery(WEEK_START, WEEK_END, **filters), now=WEEK_END)


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([4, 1, 3, 2], 0.5) == 2
    assert percentile([1, 2, 3, 4], 0.9) == 4
    assert percentile([7], 0.9) == 7


def test_counts_leave_the_previous_week_out_and_count_the_dismissed_apart(history):
    assert week()["counts"] == {"opened": 7, "open": 1, "resolved": 5, "dismissed": 1}


def test_mtta_runs_from_opened_to_acknowledged_and_waits_for_the_open_one(history):
    mtta = week()["mtta"]
    # A 300 s, B 600, E 120, F 60, G 3600 (acknowledged by its resolve); C not yet; D dismissed.
    assert (mtta["n"], mtta["p50_s"], mtta["mean_s"], mtta["waiting"]) == (5, 300, 936, 1)


def test_mttr_runs_from_opened_to_resolved(history):
    mttr = week()["mttr"]
    assert (mttr["n"], mttr["p50_s"], mttr["p90_s"], mttr["mean_s"]) == (5, 3600, 7200, 5040)
    assert mttr["waiting"] == 1  # C is still open


def test_constraint_to_response_runs_from_first_signal_to_first_decision(history):
    c2r = week()["constraint_to_response"]
    # A: signal 08:00 → T1 decided 08:21 (T7's later decision does not count); E: 08:00 → 08:30.
    assert (c2r["n"], c2r["p50_s"], c2r["p90_s"], c2r["waiting"]) == (2, 1260, 1800, 4)
    bins = {b["le_s"]: b["count"] for b in c2r["distribution"]}
    assert bins[1800] == 2 and sum(bins.values()) == 2


def test_constraint_to_resolution_runs_from_first_signal_to_resolved(history):
    c2res = week()["constraint_to_resolution"]
    # A 3660, B 7200, F 7200, E 3600, G 3600
    assert (c2res["n"], c2res["p50_s"], c2res["p90_s"]) == (5, 3660, 7200)


def test_repeats_by_key_by_cause_on_the_line_and_across_the_week_boundary(history):
    repeat = week()["repeat_rate"]
    # E repeats A (same key), G repeats A (same cause on L1), F repeats P of the week before.
    assert (repeat["n"], repeat["repeats"], repeat["rate"]) == (6, 3, 0.5)
    assert repeat["window_days"] == 14
    assert [(r["kind"], r["key"]) for r in repeat["top"]] == [
        ("downtime", "L1"),
        ("downtime", "L3"),
        ("scrap", "WO-1"),
    ]


def test_the_repeat_window_is_the_admins(history):
    policy = ExceptionPolicy.current()
    policy.repeat_window_days = 1  # A was resolved 47 h before E, P 62 h before F
    policy.save()
    repeat = week()["repeat_rate"]
    # G still repeats E: resolved 23 h earlier with the same cause on the same line.
    assert (repeat["repeats"], repeat["window_days"]) == (1, 1)
    assert [(r["kind"], r["key"]) for r in repeat["top"]] == [("scrap", "WO-1")]


def test_root_cause_pareto(history):
    assert [(r["cause"], r["n"], r["share"], r["cumulative"]) for r in week()["root_causes"]] == [
        ("Bearing", 4, 0.8, 0.8),
        ("Seal", 1, 0.2, 1.0),
    ]


def test_exceptions_resolved_without_a_decision(history):
    leaked = week()["no_decision"]
    assert (leaked["n"], leaked["without_decision"], leaked["rate"]) == (5, 3, 0.6)
    assert {c["id"] for c in leaked["cases"]} == {history[k].pk for k in "BFG"}


def test_sla_per_function_excludes_paused_time_and_counts_each_escalation(history):
    sla = week()["sla"]
    # T7 was due 08:11 but paused from 08:05 until it was decided at 08:40: on time.
    assert sla["maintenance"] | {"decide_p50_s": None} == {
        "n": 3,
        "on_time": 3,
        "late": 0,
        "pending": 0,
        "rate": 1.0,
        "escalations": 0,
        "escalated_tasks": 0,
        "decide_p50_s": None,
    }
    # Working time, pauses excluded: T1 1200 s, T2 900 s, T7 240 s.
    assert sla["maintenance"]["decide_p50_s"] == 900
    planner = sla["planner"]
    assert (planner["n"], planner["late"], planner["rate"]) == (1, 1, 0.0)
    assert (planner["escalations"], planner["escalated_tasks"]) == (2, 1)
    # T4 is paused (its clock stopped), T6 not due yet, T5 cancelled: none counted.
    assert (sla["supervisor"]["n"], sla["supervisor"]["pending"]) == (0, 1)
    assert sla["supervisor"]["rate"] is None
    assert (sla["procurement"]["n"], sla["procurement"]["pending"]) == (0, 1)
    assert week()["sla_total"] == {"n": 4, "on_time": 3, "rate": 0.75, "escalations": 2}


def test_a_task_decided_late_without_its_pause_is_late(history):
    from workflows.models import Task

    # Without the pause T7 (due 08:11, decided 08:40) would have been late.
    Task.objects.filter(title="T7").update(paused_at=None)
    from workflows.models import TaskEvent

    TaskEvent.objects.filter(task__title="T7", kind="paused").delete()
    sla = week()["sla"]["maintenance"]
    assert (sla["on_time"], sla["late"]) == (2, 1)


def test_filters_by_line_kind_and_function(history):
    l1 = week(line="L1")
    assert l1["counts"]["opened"] == 3  # A, E, G
    assert set(l1["sla"]) == {"maintenance"}
    assert week(kind="shortage")["counts"] == {
        "opened": 1,
        "open": 1,
        "resolved": 0,
        "dismissed": 0,
    }
    planner = week(function="planner")
    assert planner["counts"]["opened"] == 1  # only C had a planner task
    assert set(planner["sla"]) == {"planner"}
    assert week(site="RIV")["counts"]["opened"] == 7


def test_trend_against_the_previous_week(history):
    trend = week()["trend"]
    # The week before held only P: acknowledged after 30 min, resolved after an hour.
    assert trend["mtta_p50_s"] == {"now": 300, "before": 1800, "delta": -1500, "better": True}
    assert trend["mttr_p50_s"]["before"] == 3600
    assert trend["repeat_rate"] == {"now": 0.5, "before": 0.0, "delta": 0.5, "better": False}
    assert trend["opened"]["better"] is None


def test_series_by_day_puts_each_exception_in_the_day_it_opened(history):
    series = week(period="day")["series"]
    assert len(series) == 7
    assert [b["opened"] for b in series] == [3, 2, 1, 1, 0, 0, 0]
    assert series[0]["repeats"] == 1  # F, whose predecessor is in the week before
    assert series[0]["start"] == WEEK_START


def test_series_by_shift_cuts_at_shift_starts(history):
    series = week(period="shift")["series"]
    # No shifts configured: 06:00, 14:00, 22:00 → Monday 00:00-06:00 first, then 3 a day.
    assert series[0]["end"] == at(0, 6)
    assert series[0]["opened"] == 1  # F at 01:00
    assert series[1]["opened"] == 2  # A 08:01, B 10:00


def test_series_by_week(history):
    series = metrics_summary(MetricsQuery(at(-7, 0), WEEK_END, period="week"), now=WEEK_END)[
        "series"
    ]
    assert [b["opened"] for b in series] == [1, 7]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ({"from": "9999-01-01"}, "from"),
        ({"line": "L99"}, "line"),
        ({"site": "NOPE"}, "site"),
        ({"kind": "meteor"}, "kind"),
        ({"function": "ceo"}, "function"),
        ({"period": "month"}, "period"),
        ({"line": "L1\x00"}, "line"),
        ({"site": "x" * 5000}, "site"),
        ({"from": "2026-01-01", "to": "2026-12-31", "period": "shift"}, "period"),
    ],
)
def test_bad_parameters_name_themselves(history, params, field):
    with pytest.raises(InvalidInputError) as caught:
        metrics_query_parse(params)
    assert caught.value.field == field


def test_dates_mean_whole_local_days(history):
    q = metrics_query_parse({"from": "2026-11-02", "to": "2026-11-08"})
    assert (q.start, q.end) == (WEEK_START, WEEK_END)
