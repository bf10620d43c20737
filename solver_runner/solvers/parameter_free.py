"""Parameter-free SA, PT, Tabu, PA and SSMC: a time-boxed self-tuning loop around the parameterised solvers.

What QIO's `-parameterfree` targets did (qio-solvers.md §1.8), in our terms:
- the β range comes once from the model (solver_runner.params.default_beta_range: QIO's rule
  β_start = −ln(0.5)/ΔE_max, β_stop = −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min))); SA runs on two schedules,
  geometrically from −ln(0.25)/(the median uphill move at a random state) to that β_stop (params.sa_pf_schedules:
  Gset G1's best cut ~3.5× sooner per walker than over QIO's range), and linearly over QIO's range (far better on
  grouped balance terms), the one that leads at every run length, the other at every third (sa_schedule_turns);
  PT's ladder runs from −ln(0.5)/(the 90th-percentile uphill move) to that β_stop (params.default_all_betas),
  16 rungs geometrically, and after the first run of REFINE_STEPS steps, which measures the mean energy at each
  rung, gets rungs added where neighbours would rarely exchange (params.refine_ladder; not when the user gave
  `all_betas` or `replicas`);
- the parameterised solver is run again and again with a growing run length: 10, 20, 30, 50 units, then ×2 (SA,
  PT) or ×1.5 (the others) per run (a unit is one sweep for SA, PT and PA, ⌈n/10⌉ moves for Tabu, n steps for
  SSMC), each run with its own seed derived from the job's seed; a run that would not fit in the time left is
  shortened to fit (unless its length was given);
- the best distinct solutions over all runs are kept, with the parameters of the cheapest run (run length ×
  walkers) that reached the best cost;
- the loop ends at the timeout (default 5 s, contracts.targets.PARAMETER_FREE_DEFAULT_TIMEOUT_S, enforced through
  ctx.should_stop), on cancellation, or on "sufficient convergence": PATIENCE = 8 consecutive runs without
  improvement, of which at least CONFIRMATIONS = 2 found the best cost again, once the loop has run at least
  MIN_STOP_FRACTION = 10 % of the timeout and at least twice as long as it took to find its best. QIO stopped on
  the 8 runs alone; on hard instances (planted frustrated loops, Wishart) that gave up seconds before the timeout
  with a best cost that no later run reproduced, i.e. a lucky draw, not convergence. Re-discovery alone was not
  enough either: on a ship-loading problem (pubo, grouped balance terms, timeout 10 s) 3 of 8 SA runs stopped after
  0.08-0.40 s, short runs having re-found the same wrong local optimum, with costs every longer run beat. Short
  runs agree with each other easily, so a stop now also needs time: a tenth of what the user gave, and as much
  again as the best took to find. At least one run always does some work, however short the timeout.
- when it ends, the loop logs (INFO) how long it ran and why it stopped.
Parameters given explicitly are held fixed (a given `sweeps` makes every run that long). The echoed `parameters`
are the tuned values with the parameterised target's names, plus `seed` = the seed of the run that found the best
solution: re-running the parameterised target with them repeats that run exactly (SA, PT, PA and SSMC runs go
through the same code path; Tabu walkers run a spread of tenures, of which the winner's is echoed).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from contracts import errors, targets
from contracts.errors import ContractError
from solver_runner import params as P
from solver_runner.kernels.rng import splitmix64
from solver_runner.solvers.annealing import RungEnergies, run_anneal, run_tempering
from solver_runner.solvers.base import (
    SolveContext,
    SolveResult,
    best_distinct,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.lanes import choose_kernel
from solver_runner.solvers.population import population_run
from solver_runner.solvers.ssmc import SsmcRun
from solver_runner.solvers.tabu import run_tabu

log = logging.getLogger(__name__)

PATIENCE = 8
CONFIRMATIONS = 2
MIN_STOP_FRACTION = 0.1  # of the timeout: the earliest a convergence stop may come
MSC_WORD = 64  # walkers per machine word in multi-spin coded SA
LADDER = (10, 20, 30, 50)
GROWTH = 1.5
ANNEAL_GROWTH = 2.0  # parameter-free SA and PT: their runs' lengths double (see `ladder`)
FIT_MARGIN = 0.9  # a run is planned to take at most this fraction of the time left
MIN_RUN_UNITS = 1
REFINE_STEPS = 200  # parameter-free PT: the first run this long measures its ladder (refine_ladder)
OTHER_SCHEDULE_EVERY = 3  # parameter-free SA: the schedule that does not lead runs at every 3rd length
LANES_FROM_SWEEPS = 6400  # parameter-free SA: runs this long take 64 walkers per thread where lanes apply (sa_walkers)


def run_seed(seed: int, index: int) -> int:
    """Seed of run `index` (a valid wire seed, 0 ≤ s < 2⁶³), derived from the job's seed."""
    return splitmix64((int(seed) * 0x9E3779B97F4A7C15 + index + 1) & ((1 << 64) - 1)) >> 1


def ladder(fixed: int | None, scale: int = 1, growth: float = GROWTH) -> Iterator[int]:
    """Run lengths: `fixed` forever, or 10, 20, 30, 50 then ×`growth` each run, times `scale`.

    SA and PT double (ANNEAL_GROWTH): a run is one draw of a Las Vegas search, and the runs shorter than the length
    an input needs are the price of not knowing it; at ×1.5 that price was paid over more lengths (SA-PF's median
    time to Gset G1's best cut 0.079 → 0.044 s). Tabu-PF went both ways and keeps ×1.5 with PA-PF and SSMC-PF
    (benchmarks/README.md, "Design measurements")."""
    if fixed is not None:
        while True:
            yield int(fixed)
    for units in LADDER:
        yield units * scale
    grown = float(LADDER[-1])
    while True:
        grown *= growth
        yield int(grown) * scale


@dataclasses.dataclass
class Run:
    """What one tuning run returns: candidate states, the parameters it ran with, its size in work units
    (run length × walkers), whether it ran to its end, and its length in the solver's progress units."""

    states: np.ndarray
    parameters: dict
    work: float
    completed: bool
    progress: int
    walkers: int = 1  # where a solver's runs differ in walkers (parameter-free SA): their rates are kept apart


class Tuner:
    """The loop shared by all parameter-free targets."""

    def __init__(self, ctx: SolveContext):
        self.ctx = ctx
        self.start = time.monotonic()
        self.end = None if ctx.timeout_s is None else self.start + ctx.timeout_s
        self.states: list[np.ndarray] = []
        self.costs: list[float] = []
        self.best_parameters: dict = {}
        self.best_work = math.inf
        self.progress = 0
        self.runs = 0
        self.rates: dict[int, list[float]] = {}  # seconds per work unit of each run, by the run's walkers
        self._checks = 0

    # -- contexts for the runs --------------------------------------------------------------------------------

    def should_stop(self) -> bool:
        """ctx.should_stop, except that the very first check of the first run says go (so a result exists)."""
        self._checks += 1
        if self.runs == 0 and self._checks == 1:
            return False
        return self.ctx.should_stop()

    def sub_context(self, seed: int) -> SolveContext:
        offset = self.progress
        best = self.costs[0] if self.costs else math.inf

        def report(done: int, cost: float) -> None:
            self.ctx.report(offset + done, min(best, cost))

        return dataclasses.replace(self.ctx, seed=seed, should_stop=self.should_stop, report=report)

    # -- planning ---------------------------------------------------------------------------------------------

    def remaining(self) -> float:
        return math.inf if self.end is None else self.end - time.monotonic()

    def seconds_per_work(self, walkers: int) -> float | None:
        """The cheapest recent rate of runs with this many walkers (short runs, and a first run paying JIT or cache
        loading, overestimate it); for a walker count not run yet, the dearest such rate of the others (64 walkers
        in SIMD lanes cost 2.3-2.9× less per walker than one scalar walker: a first lane run is judged dear)."""
        if walkers in self.rates:
            return min(self.rates[walkers][-3:])
        return max((min(rates[-3:]) for rates in self.rates.values()), default=None)

    def affords(self, units: int, walkers: int) -> bool:
        """Whether a run of `units` × `walkers` is expected to fit in FIT_MARGIN of the time left (True when there is
        no timeout or no measured rate yet)."""
        rate = self.seconds_per_work(walkers)
        return rate is None or self.end is None or rate * units * walkers <= FIT_MARGIN * self.remaining()

    def fit(self, units: int, walkers: Callable[[int], int]) -> int:
        """Shorten a planned run so it fits in the time left (from the measured cost of earlier runs): the longest
        length L ≤ units with rate·L·walkers(L) ≤ FIT_MARGIN·(time left)."""
        if not self.rates or self.end is None:
            return units

        def cost(length: int) -> float:
            w = max(1, walkers(length))
            return (self.seconds_per_work(w) or 0.0) * length * w

        budget = FIT_MARGIN * self.remaining()

        if cost(units) <= budget:
            return units
        lo, hi = MIN_RUN_UNITS, units
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if cost(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # -- bookkeeping ------------------------------------------------------------------------------------------

    def offer(self, run: Run, seconds: float) -> tuple[bool, bool]:
        """Merge a run's candidates into the pool; returns (the best cost improved, the run reached the best cost)."""
        model = self.ctx.model
        k = self.ctx.number_of_solutions
        states, costs = exact_best(model, run.states, k)
        if not states:
            return False, False
        old_best = self.costs[0] if self.costs else math.inf
        tol = 1e-9 * (1.0 + abs(old_best)) if math.isfinite(old_best) else 0.0
        merged = np.concatenate([np.asarray(self.states, np.int8).reshape(-1, model.n), np.asarray(states, np.int8)])
        energies = np.concatenate([np.asarray(self.costs, np.float64), np.asarray(costs, np.float64)])
        self.states, self.costs = best_distinct(merged, energies, k)
        improved = costs[0] < old_best - tol
        if improved or (abs(costs[0] - old_best) <= tol and run.work < self.best_work):
            self.best_parameters = run.parameters
            self.best_work = run.work
        if run.work > 0 and seconds > 0 and run.completed:
            self.rates.setdefault(run.walkers, []).append(seconds / run.work)
        self.progress += run.progress
        self.runs += 1
        return improved, improved or abs(costs[0] - old_best) <= tol

    def loop(self, lengths: Iterator[int], walkers: int | Callable[[int], int],
             make_run: Callable[[int, int, SolveContext], Run], fixed_length: bool = False) -> SolveResult:
        """Run make_run(length, seed, sub-context) for growing lengths until timeout, cancel or convergence.

        `walkers`: walkers per run (or a function of the run length): a run's work is length × walkers.
        `fixed_length`: the user gave the run length; runs are never shortened to fit (the timeout cuts them)."""
        walkers_of = walkers if callable(walkers) else (lambda _length, w=int(walkers): w)
        since_improvement = confirmations = 0
        stopped = False
        found_at = 0.0  # seconds into the loop when the best cost was last improved
        why = "timeout or cancel"
        for index, planned in enumerate(lengths):
            if self.runs > 0 and self.ctx.should_stop():
                stopped = True
                break
            length = self.fit(planned, walkers_of) if self.runs > 0 and not fixed_length else planned
            seed = run_seed(self.ctx.seed, index)
            t0 = time.monotonic()
            run = make_run(length, seed, self.sub_context(seed))
            improved, reached = self.offer(run, time.monotonic() - t0)
            elapsed = time.monotonic() - self.start
            if improved:
                since_improvement = confirmations = 0
                found_at = elapsed
            else:
                since_improvement += 1
                confirmations += reached
            if self.costs:
                self.ctx.report(self.progress, self.costs[0])
            if not run.completed:
                stopped = True
                break
            if (since_improvement >= PATIENCE and confirmations >= CONFIRMATIONS and elapsed >= 2 * found_at
                    and (self.ctx.timeout_s is None or elapsed >= MIN_STOP_FRACTION * self.ctx.timeout_s)):
                why = (f"converged: {since_improvement} runs without improvement, {confirmations} found the best "
                       f"again (found at {found_at:.2f} s)")
                break
        else:
            why = "ladder exhausted"
        log.info("parameter-free run stopped after %.2f s (timeout %s s, %d runs, best %.10g): %s",
                 time.monotonic() - self.start, self.ctx.timeout_s, self.runs, self.costs[0] if self.costs else math.nan,
                 why)
        parameters = dict(self.best_parameters)
        return SolveResult(states=self.states, costs=self.costs, parameters=parameters, sweeps_done=self.progress,
                           stopped_early=stopped)


def _walkers(threads: int, minimum: int = 8) -> int:
    return max(minimum, 2 * threads)


def sa_walkers(ctx: SolveContext) -> Callable[[int], int]:
    """Restarts of parameter-free SA, as a function of the run's sweeps.

    64 per thread when the input takes multi-spin coding (64 walkers share one machine word, so they cost what ~2
    scalar walkers do). Otherwise one per thread for runs shorter than LANES_FROM_SWEEPS, so the ladder reaches
    the run length an input needs soonest (on the geometric schedule alone, 8 restarts in SIMD lanes, ~1.5× a
    scalar walker's cost per walker on Gset G1, took G1's best cut 0.37 s, 1 restart 0.17 s); and from there on 64
    per thread where they run in SIMD lanes (sparse quadratic inputs): a run that long is one draw of a search
    that longer runs no longer make much likelier, and lanes sweep 2.3-2.9× as many walkers per second as the
    scalar kernel (Gset G1, G14). Gset G14's best cut in 60 s: 2 of 9 seeds with one walker, 12 of 18 with this
    rule, 5-7 of 9 from 1600 to 12800 sweeps; G1, bqp50 and bqp250 are found by shorter runs, as soon as before
    (benchmarks/README.md, "Design measurements"). Dense couplings, grouped terms, degree ≥ 3 and inputs too
    large for 64 walkers per thread in memory keep one walker per thread throughout; and a run takes the 64 only
    where it fits in the time left (simulated_annealing_parameter_free's `restarts`)."""
    threads = max(1, ctx.threads)
    many = MSC_WORD * threads
    kind = choose_kernel(ctx.model, many, keep=ctx.number_of_solutions)[0]
    if kind == "msc":
        return lambda _sweeps: many
    if kind == "lanes" and walkers_fit(ctx, many):
        return lambda sweeps: many if sweeps >= LANES_FROM_SWEEPS else threads
    return lambda _sweeps: threads


@register(targets.SA_PF)
def simulated_annealing_parameter_free(ctx: SolveContext) -> SolveResult:
    """Tunes sweeps (restarts by run length from `sa_walkers` unless given) over params.sa_pf_schedules (geometric,
    then QIO's linear): the leading schedule runs at every length of the ladder, the other at every OTHER_SCHEDULE_EVERY-th
    (`sa_schedule_turns`); the echoed `beta` is the winning run's schedule."""
    p = ctx.params
    schedules = P.sa_pf_schedules(ctx)
    given = p.get("restarts")
    by_length = sa_walkers(ctx) if given is None else (lambda _sweeps: int(given))
    tuner = Tuner(ctx)

    def restarts(sweeps: int) -> int:
        """by_length's walkers where such a run fits in the time left, else a short run's (one per thread) at this
        length: a 20 000-variable input at timeout 10 s would otherwise repeat runs of 6399 sweeps (the longest that
        fit with one walker) where its ladder reached 51 200 (cost −26 497 against −26 658)."""
        walkers = by_length(sweeps)
        return walkers if tuner.affords(sweeps, walkers) else by_length(0)

    turns: list[int] = []  # the schedule of each run the ladder has planned, oldest first

    def make_run(sweeps: int, seed: int, sub: SolveContext) -> Run:
        schedule = schedules[turns.pop(0)]
        walkers = restarts(sweeps)
        state, done, _ = run_anneal(sub, walkers, sweeps, schedule, seed, ctx.number_of_solutions)
        params = {"beta": schedule, "beta_start": schedule["initial"], "beta_stop": schedule["final"],
                  "restarts": walkers, "seed": seed, "sweeps": sweeps}
        return Run(state.candidates()[0], params, float(sweeps * walkers), done == sweeps, done, walkers)

    def leader() -> int:
        best = tuner.best_parameters.get("beta")
        return next((k for k, schedule in enumerate(schedules) if schedule == best), 0)

    def lengths() -> Iterator[int]:
        for length, schedule in sa_schedule_turns(ladder(p.get("sweeps"), growth=ANNEAL_GROWTH), len(schedules),
                                                  leader):
            turns.append(schedule)
            yield length

    return tuner.loop(lengths(), restarts, make_run, "sweeps" in p)


def sa_schedule_turns(lengths: Iterator[int], schedules: int, leader: Callable[[], int]) -> Iterator[tuple[int, int]]:
    """(run length, schedule index) of each parameter-free SA run: at every length the leading schedule (`leader()`,
    asked as each run is planned: the schedule of the cheapest run that reached the best cost so far), then the
    others at every OTHER_SCHEDULE_EVERY-th length (the 3rd, 6th, ...). The leader gets ~3/4 of the time, and a
    schedule that overtakes it leads from the next length on. Each length once per schedule, as before, took Gset
    G1's best cut ~1.25× longer; the linear schedule, needed on grouped balance terms, leads there (benchmarks/
    README.md, "Design measurements")."""
    for rung, length in enumerate(lengths):
        first = leader()
        yield length, first
        if rung % OTHER_SCHEDULE_EVERY == OTHER_SCHEDULE_EVERY - 1:
            for other in range(schedules):
                if other != first:
                    yield length, other


@register(targets.PT_PF)
def parallel_tempering_parameter_free(ctx: SolveContext) -> SolveResult:
    """Tunes sweeps; replicas = max(16, 2·threads) on a geometric β ladder across the model's range (QIO: one β per
    thread, at least 16), unless all_betas / replicas are given. Without either, the first run of at least
    REFINE_STEPS steps also measures the mean energy at each rung, and the runs after it use the ladder
    params.refine_ladder makes of it (rungs added where neighbours would rarely exchange); the echoed all_betas are
    those of the run that found the best."""
    p = ctx.params
    if "all_betas" in p:
        all_betas = [float(b) for b in p["all_betas"]]
    else:
        all_betas = P.default_all_betas(ctx.model, int(p.get("replicas", _walkers(ctx.threads, 16))))
    refine = "all_betas" not in p and "replicas" not in p
    tuner = Tuner(ctx)

    def make_run(sweeps: int, seed: int, sub: SolveContext) -> Run:
        nonlocal all_betas, refine
        betas = all_betas
        energies = RungEnergies(len(betas)) if refine and sweeps >= REFINE_STEPS else None
        state, done, stopped = run_tempering(sub, betas, sweeps, keep=ctx.number_of_solutions, energies=energies)
        means = None if energies is None or done < sweeps else energies.mean()
        if means is not None:
            all_betas, refine = refined_ladder(ctx, betas, means), False
        params = {"all_betas": betas, "replicas": len(betas), "seed": seed, "sweeps": sweeps}
        return Run(state.candidates()[0], params, float(sweeps * len(betas)), done == sweeps, done)

    return tuner.loop(ladder(p.get("sweeps"), growth=ANNEAL_GROWTH), lambda _length: len(all_betas),
                      make_run, "sweeps" in p)


def refined_ladder(ctx: SolveContext, betas: list[float], means: np.ndarray) -> list[float]:
    """params.refine_ladder's ladder, or `betas` where the replicas' arrays would not fit in memory."""
    refined = P.refine_ladder(betas, means)
    if not walkers_fit(ctx, len(refined)):
        return betas
    log.info("parameter-free PT: ladder of %d rungs refined to %d from the rungs' mean energies", len(betas),
             len(refined))
    return refined


def walkers_fit(ctx: SolveContext, walkers: int) -> bool:
    """Whether `walkers` walkers' arrays fit in base.WALKER_MEMORY_LIMIT_BYTES (check_walker_memory)."""
    try:
        check_walker_memory(ctx.model, walkers, ctx.number_of_solutions, "walkers")
    except ContractError as e:
        if e.code != errors.PROBLEM_TOO_LARGE:
            raise
        return False
    return True


def tabu_tenures(n: int, walkers: int, centre: int | None) -> np.ndarray:
    """Per-walker tenures: half at the centre (Beasley's min(20, n/4) until a better one is known), a quarter at
    half of it, the rest spread geometrically over (centre, min(n − 1, 5·centre)]."""
    opt = max(1, P.default_tabu_tenure(n)) if centre is None else max(1, int(centre))
    top = max(opt, min(max(n - 1, 1), 5 * opt))
    half = (walkers + 1) // 2
    quarter = (walkers - half) // 2
    rest = walkers - half - quarter
    spread = np.geomspace(opt, top, rest + 1)[1:].round().astype(np.int64) if rest else np.zeros(0, np.int64)
    tenures = [opt] * half + [max(1, opt // 2)] * quarter + [int(max(opt, t)) for t in spread]
    return np.asarray(tenures, np.int64)


@register(targets.TABU_PF)
def tabu_parameter_free(ctx: SolveContext) -> SolveResult:
    """Tunes sweeps (moves) and the tenure: walkers run a spread of tenures around the best one so far (Beasley's
    min(20, n/4) at first); restarts = max(8, 2·threads) unless given. Echoes the tenure of the walker that found
    the best solution."""
    p = ctx.params
    n = ctx.model.n
    restarts = int(p.get("restarts", _walkers(ctx.threads)))
    fixed_tenure = p.get("tabu_tenure")
    scale = max(1, -(-n // 10))  # moves per ladder unit: a walker needs ~n moves to touch every variable
    tuner = Tuner(ctx)
    centre: list[int | None] = [None]

    def make_run(moves: int, seed: int, sub: SolveContext) -> Run:
        tenures = (np.full(restarts, int(fixed_tenure), np.int64) if fixed_tenure is not None
                   else tabu_tenures(n, restarts, centre[0]))
        state, done, stopped = run_tabu(sub, restarts, moves, tenures, keep=ctx.number_of_solutions)
        winner = int(np.argmin(state.bestE))
        tenure = int(tenures[winner])
        if not tuner.costs or float(state.bestE[winner]) < tuner.costs[0] - 1e-9:
            centre[0] = tenure
        params = {"restarts": restarts, "seed": seed, "sweeps": moves, "tabu_tenure": tenure}
        return Run(state.candidates()[0], params, float(moves * restarts), done == moves, done)

    fixed = p.get("sweeps")
    return tuner.loop(ladder(fixed, 1 if fixed is not None else scale), restarts, make_run, fixed is not None)


@register(targets.PA_PF)
def population_annealing_parameter_free(ctx: SolveContext) -> SolveResult:
    """Tunes sweeps (PA steps) and the population with it: population = max(64, 4·threads, sweeps/2), since an anneal
    much longer than ~2 × population collapses its ancestry (solver_runner.solvers.population); the other parameters
    take the parameterised PA's defaults unless given (a given population is held fixed)."""
    p = ctx.params
    fixed_population = p.get("population")
    tuner = Tuner(ctx)

    def population_for(sweeps: int) -> int:
        return int(fixed_population) if fixed_population is not None else max(64, 4 * ctx.threads, sweeps // 2)

    def make_run(sweeps: int, seed: int, sub: SolveContext) -> Run:
        params = P.pa_parameters(dataclasses.replace(sub, params={**p, "population": population_for(sweeps)}), sweeps)
        params.pop("timeout", None)
        params["seed"] = seed
        run = population_run(sub.model, params, seed, ctx.number_of_solutions, ctx.threads)
        done, stopped = run_steps(sub, run, sweeps)
        walkers = params["population"] * params["sweeps_per_replica"]
        return Run(run.candidates(), params, float(sweeps * walkers), done == sweeps, done)

    spr = int(p.get("sweeps_per_replica", 1))
    return tuner.loop(ladder(p.get("sweeps")), lambda sweeps: population_for(sweeps) * spr, make_run, "sweeps" in p)


@register(targets.SSMC_PF)
def substochastic_monte_carlo_parameter_free(ctx: SolveContext) -> SolveResult:
    """Tunes step_limit (ladder in steps per variable: a walker makes ~one random flip per step); the other
    parameters take the parameterised SSMC's defaults unless given, with target_population ≥ 4·threads."""
    p = ctx.params
    n = ctx.model.n
    population = int(p.get("target_population", max(P.SSMC_DEFAULT_POPULATION, 4 * ctx.threads)))
    tuner = Tuner(ctx)

    def make_run(steps: int, seed: int, sub: SolveContext) -> Run:
        params = P.ssmc_parameters(dataclasses.replace(sub, params={**p, "target_population": population,
                                                                  "step_limit": steps}))
        params.pop("timeout", None)
        run = SsmcRun(sub.model, params, seed, keep=ctx.number_of_solutions, threads=ctx.threads)
        done, stopped = run_steps(sub, run, steps)
        work = float(steps * population * params["steps_per_walker"])
        return Run(run.candidates(), params, work, done == steps, done)

    fixed = p.get("step_limit")
    walkers = population * int(p.get("steps_per_walker", 1))
    return tuner.loop(ladder(fixed, 1 if fixed is not None else max(1, n)), walkers, make_run, fixed is not None)
