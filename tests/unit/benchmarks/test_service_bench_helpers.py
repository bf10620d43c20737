"""The service benchmark's helpers: statistics, the independent cost evaluator, CPU accounting."""
from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from benchmarks.service.cpu import CpuMeter, machine_jiffies, process_cpu_s
from benchmarks.service.problems import CostMismatch, TinyProblem, check_result, evaluate, tiny_problem
from benchmarks.service.runs import disturbed
from benchmarks.service.stats import none_waiting_share, percentile, rate, span_seconds, summarize, verdict
from contracts.problems import decode_problem
from tests.reference import reference_cost


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear(q):
    rng = random.Random(q)
    for n in (1, 2, 3, 10, 101):
        values = [rng.uniform(-5, 5) for _ in range(n)]
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-12)


def test_percentile_small_cases_by_hand():
    assert percentile([3.0], 99) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5  # mean of the middle pair
    assert percentile([10, 0], 100) == 10 and percentile([10, 0], 0) == 0  # order of the input does not matter
    assert percentile(range(101), 99) == 99.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_percentile_rejects_empty_and_nan(bad):
    with pytest.raises(ValueError):
        percentile(bad, 50)


def test_percentile_rejects_out_of_range_q():
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


def test_summarize_reports_milliseconds():
    s = summarize([0.010, 0.020, 0.030, 1.0])
    assert s.n == 4 and s.p50_ms == pytest.approx(25.0) and s.max_ms == pytest.approx(1000.0)
    assert s.mean_ms == pytest.approx(265.0) and s.p99_ms == pytest.approx(float(np.percentile([10, 20, 30, 1000], 99)))
    assert "p50 25.0 ms" in s.brief()
    with pytest.raises(ValueError):
        summarize([])


def test_rate_and_span():
    assert rate(100, 10.0, 12.0) == 50.0
    with pytest.raises(ValueError):
        rate(1, 5.0, 5.0)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert span_seconds(t0, t0 + timedelta(milliseconds=1500)) == 1.5


def test_the_share_of_time_with_no_job_waiting():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    # waiting over [0, 2] and [3, 4] (two overlapping jobs, then one): empty for 1 s of the 4
    jobs = [(at(0), at(1.5)), (at(1), at(2)), (at(3), at(4))]
    assert none_waiting_share(jobs) == pytest.approx(0.25)
    assert none_waiting_share([(at(0), at(1))]) == 0.0
    assert none_waiting_share([]) == 0.0


def test_overload_reports_the_share_of_the_phase_with_no_job_waiting():
    from benchmarks.service.__main__ import _rows

    run = {"burst": _phase(200.0, 10.0), "200 %": {**_phase(180.0, 11.0, offered=400), "none_waiting": 0.034},
           "burst after": _phase(200.0, 10.0)}
    rows = {row[0]: row for row in _rows([run], ["burst", "200 %"])}
    assert rows["200 %: share of the phase with no admitted job waiting"][1] == "3.4%"


def test_verdict_directions():
    assert verdict(49.9, 50) == "PASS" and verdict(50.1, 50) == "MISS"
    assert verdict(120, 100, lower_is_better=False) == "PASS" and verdict(99, 100, lower_is_better=False) == "MISS"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_evaluator_agrees_with_the_contract_reference_cost(seed):
    problem = tiny_problem(seed, variables=8, terms=16)
    data = decode_problem(problem.to_client().to_blob(), "application/json")  # what the service decodes
    rng = random.Random(seed)
    values = (-1, 1) if problem.kind == "ising" else (0, 1)
    for _ in range(20):
        config = {str(i): rng.choice(values) for i in range(8)}
        assert evaluate(problem, config) == pytest.approx(reference_cost(data, config))


def test_tiny_problems_alternate_kinds_and_are_deterministic():
    assert tiny_problem(4) == tiny_problem(4) and tiny_problem(4) != tiny_problem(6)
    assert tiny_problem(4).kind == "ising" and tiny_problem(5).kind == "pubo"
    used = {i for _, ids in tiny_problem(7).terms for i in ids}
    assert used == set(range(12))  # the ring touches every variable, so every one is in the configuration


def test_check_result_accepts_the_right_cost_and_rejects_wrong_ones():
    problem = TinyProblem("t", "ising", ((2, (0, 1)), (-1, (0,)), (3, ())))
    good = {"configuration": {"0": 1, "1": -1}, "cost": -2 - 1 + 3}
    assert check_result(problem, good) == 0
    with pytest.raises(CostMismatch, match="reported cost"):
        check_result(problem, {**good, "cost": 1.0})
    with pytest.raises(CostMismatch, match="variable 1"):
        check_result(problem, {"configuration": {"0": 1, "1": 0}, "cost": 0})  # 0 is not a spin
    with pytest.raises(CostMismatch, match="no configuration"):
        check_result(problem, {"cost": 0})


def test_cpu_meter_counts_this_process():
    if machine_jiffies() is None or process_cpu_s(os.getpid()) is None:
        pytest.skip("no /proc on this platform: the benchmark reports n/a there")
    meter = CpuMeter({"me": [os.getpid()]}).start()
    x = 0
    for i in range(3_000_000):  # ~0.1-0.3 s of CPU, enough to move the tick counter
        x += i * i
    out = meter.stop()
    assert out["me"] > 0 and out["wall_s"] > 0 and 0 <= out["machine_busy_cores"] <= (os.cpu_count() or 1) + 0.01


RUNNERS_ROW = ("200 %: runners' CPU per job / the bursts' (the same work per job: this service's speed against the "
               "burst services')")


def _phase(jobs_per_s, cpu, p50=10.0, p99=50.0, refused=0, offered=None, held=0):
    return {"jobs": 100, "jobs_per_s": jobs_per_s, "server_p50_ms": p50, "server_p99_ms": p99, "queue_p50_ms": 1.0,
            "refused": refused, "refused_without_retry_after": 0, "held": held, "failures": 0, "offered_per_s": offered,
            "cpu_total_ms": cpu, "cpu_client_ms": cpu / 4, "cpu_azurite_ms": cpu / 4, "cpu_service_ms": cpu / 4,
            "cpu_runners_ms": cpu / 4}


def test_runs_are_summarised_by_median_and_range_rates_judged_on_the_median_bounds_on_every_run():
    from benchmarks.service.__main__ import _rows
    from benchmarks.service.runs import spread

    # capacity 145 / 160 / 170 jobs/s; the 200 % phase completes 88 / 95 / 92 % of it at 1.25 / 1.10 / 1.14x its CPU
    # per job; its p99 is over 2 s in the third run; the paced p50 over 50 ms in the first
    runs = [{"burst": _phase(cap, 11.0), "paced 100/s": _phase(99, 12.0, p50=p50, offered=100),
             "50 %": _phase(cap / 2, 13.0, offered=cap / 2), "100 %": _phase(cap, 12.0, offered=cap),
             "200 %": _phase(share * cap, 11.0 * ratio, p99=p99, refused=900, offered=2 * cap)}
            for cap, share, ratio, p99, p50 in ((145.0, 0.88, 1.25, 1500.0, 60.0), (160.0, 0.95, 1.10, 1800.0, 5.0),
                                                (170.0, 0.92, 1.14, 2500.0, 5.0))]
    capacity = spread(runs, "burst", "jobs_per_s")
    assert (capacity.median, capacity.low, capacity.high) == (160.0, 145.0, 170.0)
    assert capacity.brief() == "160.0 [145.0-170.0]"
    table = {row[0]: row for row in _rows(runs, ["burst", "paced 100/s", "50 %", "100 %", "200 %"])}
    rows = {measure: verdict for measure, _, _, verdict in table.values()}
    # rates and CPU per job: the median meets the goal though one run of three does not
    assert rows["burst: completed jobs/s (capacity)"] == "PASS (2 of 3 runs)"
    assert rows["burst: CPU ms per job, all (client / Azurite / service / runners)"] == "PASS (3 of 3 runs)"
    share = table["200 %: completed / capacity (mean of the bursts before and after)"]
    assert share[1:] == ("92.0% (88.0% 95.0% 92.0%)", "median ≥ 90 %", "PASS (2 of 3 runs)")
    assert rows["200 %: CPU per job / the bursts'"] == "PASS (2 of 3 runs)"
    # bounds and correctness: every run
    assert rows["paced 100/s: latency p50 / p99 ms (created → ended)"] == "MISS (2 of 3 runs)"
    assert rows["200 %: latency of admitted jobs p50 / p99 ms"] == "MISS (2 of 3 runs)"
    assert rows["200 %: refused without Retry-After"] == "PASS (3 of 3 runs)"
    assert rows["jobs lost, failed or wrong (all phases)"] == "PASS (3 of 3 runs)"
    # a median that misses is a MISS however close the best run comes
    for run in runs:
        run["200 %"]["jobs_per_s"] = 0.85 * run["burst"]["jobs_per_s"]
    runs[0]["200 %"]["jobs_per_s"] = 0.95 * runs[0]["burst"]["jobs_per_s"]
    share = {row[0]: row for row in _rows(runs, ["burst", "200 %"])}[
        "200 %: completed / capacity (mean of the bursts before and after)"]
    assert share[3] == "MISS (1 of 3 runs)"


def test_overload_is_also_set_against_the_flood_on_the_same_service():
    from benchmarks.service.__main__ import _rows

    phases = ["burst", "paced 100/s", "50 %", "100 %", "200 %"]
    run = {"burst": _phase(200.0, 10.0), "paced 100/s": _phase(100.0, 12.0, offered=100),
           "50 %": _phase(100.0, 12.0, offered=100), "100 %": _phase(150.0, 12.0, offered=200),
           "200 %": _phase(150.0, 12.6, refused=900, offered=400), "flood": _phase(160.0, 12.0, refused=300)}
    rows = {measure: value for measure, value, _, _ in _rows([run], phases)}
    assert rows["200 %: completed / the flood's; CPU per job / the flood's (the same service)"] == "94%; 1.05"
    # and against the paced phases, whose jobs arrive one by one as its own do: overload's own cost at 100 %'s
    assert rows["200 %: completed; CPU per job / 100 %'s (the same one-by-one arrivals, at capacity)"] == "100%; 1.05"
    assert rows["200 %: CPU per job / 50 %'s (no backlog)"] == "1.05"
    # and what capacity offered one job at a time completed (the bound past capacity, overload aside)
    assert rows["100 %: completed / capacity (capacity offered one job at a time, without overload)"] == "75.0%"
    del run["flood"]
    assert not any("the flood's" in measure for measure, _, _, _ in _rows([run], phases))


def test_overload_is_judged_against_the_bursts_before_and_after_it():
    from benchmarks.service.__main__ import _rows

    phases = ["burst", "paced 100/s", "50 %", "100 %", "200 %"]
    run = {"burst": _phase(200.0, 10.0), "paced 100/s": _phase(100.0, 12.0, offered=100),
           "50 %": _phase(100.0, 12.0, offered=100), "100 %": _phase(150.0, 12.0, offered=200),
           "200 %": _phase(135.0, 13.0, offered=400), "burst after": _phase(100.0, 16.0)}
    rows = {row[0]: row for row in _rows([run], phases)}
    # capacity (200 + 100) / 2 = 150: 135 is 90 %; CPU (10 + 16) / 2 = 13: ratio 1.00
    share = rows["200 %: completed / capacity (mean of the bursts before and after)"]
    assert share[1] == "90.0%" and share[3] == "PASS (1 of 1 runs)"
    assert rows["200 %: CPU per job / the bursts'"][1:] == ("1.00", "median ≤ 1.20", "PASS (1 of 1 runs)")
    assert rows[RUNNERS_ROW][1:] == ("1.00", "", "")
    assert rows["burst after the 200 % phase: jobs/s; CPU ms per job"][1] == "100.0; 16.0"
    # against the burst before alone, the same run would have missed both
    del run["burst after"]
    rows = {row[0]: row for row in _rows([run], phases)}
    assert rows["200 %: completed / capacity (mean of the bursts before and after)"][1:] == (
        "67.5%", "median ≥ 90 %", "MISS (0 of 1 runs)")
    assert rows["200 %: CPU per job / the bursts'"][1:] == ("1.30", "median ≤ 1.20", "MISS (0 of 1 runs)")
    assert rows[RUNNERS_ROW][1] == "1.30"
    assert "burst after the 200 % phase: jobs/s; CPU ms per job" not in rows


def test_the_flood_is_reported_against_the_bursts_with_its_429s():
    from benchmarks.service.__main__ import _rows

    run = {"burst": _phase(200.0, 10.0), "200 %": _phase(135.0, 13.0, offered=400),
           "flood": _phase(144.0, 12.0, p99=480.0, refused=420), "burst after": _phase(160.0, 11.0)}
    rows = {row[0]: row for row in _rows([run], ["burst", "200 %"])}
    flood = next(row for measure, row in rows.items() if measure.startswith("flood"))
    assert flood[1] == "144.0 (80%); 420; 480"  # capacity (200 + 160) / 2 = 180
    without = _rows([{k: v for k, v in run.items() if k != "flood"}], ["burst", "200 %"])
    assert not any(row[0].startswith("flood") for row in without)


def test_the_refusals_sent_are_costed_per_completed_job_of_the_overload_phases():
    from benchmarks.service.__main__ import _refusal_rows
    from benchmarks.service.refusals import Refusals, Side
    from benchmarks.service.runs import UNHELD

    measured = Refusals(ours=Side(3000, 0.9, 0.5), floor=Side(3000, 0.6, 0.35), failures=[])
    run = {"burst": _phase(200.0, 10.0), "200 %": _phase(150.0, 12.6, refused=120, held=80, offered=400),
           UNHELD: _phase(140.0, 13.6, refused=120, offered=400), "burst after": _phase(180.0, 12.0)}
    rows = {measure: value for measure, value, _, _ in _refusal_rows(measured, [run])}
    assert rows["refused submission sent: CPU ms, client / service (the same request to bare aiohttp over TLS: the "
                "floor)"] == "0.90 / 0.50 (floor 0.60 / 0.35)"
    # every one sent: 1.2 per completed job, 1.2 x 1.4 = 1.68 ms, 1.2 x 0.95 = 1.14 ms, against the bursts'
    # (10 + 12) / 2
    assert rows[f"{UNHELD}: refusals sent per completed job, their CPU / the bursts' CPU per job (at the floor's "
                "cost)"] == "1.20, 15% (10%)"
    # 80 of the 120 held by the client: 0.4 sent per completed job
    assert rows["200 %: refusals sent per completed job, their CPU / the bursts' CPU per job (at the floor's "
                "cost)"] == "0.40, 5% (3%)"
    assert len(_refusal_rows(measured, [{"burst": run["burst"]}])) == 1  # no 200 % phase: the cost alone


def test_overload_with_every_submission_sent_is_reported_not_judged():
    from benchmarks.service.__main__ import _rows
    from benchmarks.service.runs import UNHELD

    run = {"burst": _phase(200.0, 10.0), "200 %": _phase(150.0, 12.0, refused=300, held=200, offered=400),
           UNHELD: _phase(130.0, 13.0, p99=900.0, refused=400, offered=400), "burst after": _phase(100.0, 16.0)}
    rows = {row[0]: row for row in _rows([run], ["burst", "200 %", UNHELD])}
    assert rows[f"{UNHELD} (as the SDK's clients): completed / capacity; CPU per job / the bursts'"][1:] == \
        ("86.7%; 1.00", "", "")
    assert rows["200 %: offered / completed jobs/s; refused (429; of them held by the client, not sent)"][1] == \
        "400 / 150.0; 300 (200)"
    assert rows[f"{UNHELD}: offered / completed jobs/s; refused (429; of them held by the client, not sent)"][1] == \
        "400 / 130.0; 400 (0)"


def test_a_paced_service_whose_admitted_jobs_stalled_keeps_its_log(tmp_path):
    from benchmarks.service.runs import KEEP_LOG_P99_MS, keep_log

    service_log = tmp_path / "openqio.log"
    service_log.write_text("the service's log\n")
    keep = tmp_path / "kept"
    normal = {"burst": _phase(150.0, 11.0, p99=2500.0),  # a burst's p99 is its queue: never a reason
              "200 %": _phase(140.0, 13.0, p99=800.0, offered=300)}
    assert keep_log(normal, service_log, keep, "run1.log") is None and not keep.exists()
    stalled = {**normal, "200 %": _phase(80.0, 14.0, p99=KEEP_LOG_P99_MS + 1, offered=300)}
    assert keep_log(stalled, service_log, None, "run1.log") is None  # nowhere to keep it
    kept = keep_log(stalled, service_log, keep, "run1.log")
    assert kept == keep / "run1.log" and kept.read_text() == "the service's log\n"


def test_runs_on_a_machine_something_else_used_are_named():
    quiet = {"burst": {"other_cores": 0.02}, "200 %": {"other_cores": 0.1}, "cancel": {}}
    busy = {"burst": {"other_cores": 0.86}, "200 %": {"other_cores": 1.25}}
    assert disturbed([quiet, quiet]) is None
    said = disturbed([quiet, busy, {"flood": {"other_cores": 0.3}}])
    assert said is not None and "run(s) 2 (up to 1.25), 3 (up to 0.30)" in said and "run again on an idle" in said
