"""Quantum Monte Carlo (`microsoft.qmc.cpu`): path-integral annealing of the transverse field Γ at fixed β.

Each restart holds `trotter_number` (P) slices; one sweep is one cluster pass over all variables (Wolff-type moves
along imaginary time) followed by one local-move pass over all spin·slices (see solver_runner.kernels.qmc; both
moves are exact for the Trotter weight, and the pair did as well as twice the cluster passes at equal cost).
Γ goes linearly from `transverse_field_high` (alias `transverse_field_start`) at sweep 0 to `transverse_field_low`
(alias `transverse_field_stop`) at the last sweep: a decreasing field is an annealer (QIO's QTK built the schedule
low → high; we follow the SDK's start/stop reading). β goes linearly from `beta_start` to `beta_stop`; QIO treated
β as constant (beta_stop defaults to beta_start and vice versa).
The result is the best classical slice seen over all restarts and sweeps.

Defaults (echoed in `parameters`), all in the problem's own cost units:
- `beta_start` = `beta_stop` = the model's SA β_stop, −ln(1e−4)/(ΔE_min + 0.001·(ΔE_max − ΔE_min)): once Γ has
  dropped and the slices lock together the walk is a classical Metropolis walk at this β, under which the
  smallest uphill moves are frozen (QIO's fixed default 1.0 is far too hot or too cold unless coefficients are ~1).
- `transverse_field_high` = atanh(0.99)·P/β: the bond probability 1 − tanh(βΓ/P) starts at 1%, i.e. the slices
  begin almost independent (each a classical walk at the hotter β/P) and lock together as Γ → 0.
- `transverse_field_low` = 0 (QIO's default). `trotter_number` = 8 (QIO: the thread count, which would make
  results depend on the machine). `restarts` = max(4, threads). `sweeps` = 1000 (as our SA).
"""
from __future__ import annotations

from contracts import errors, targets
from contracts.errors import ContractError
from solver_runner import params as P
from solver_runner.model import CompiledModel
from solver_runner.solvers.base import (
    SolveContext,
    SolveResult,
    check_walker_memory,
    exact_best,
    register,
    run_steps,
)
from solver_runner.solvers.walkers import QmcState, bond_probability

LOCAL_MOVES = True  # a local-move pass after each cluster pass

class QmcRun:
    """A QMC run advanced sweep by sweep along its β and Γ schedules (for run_steps' timed chunks)."""

    def __init__(self, model: CompiledModel, params: dict, seed: int, keep: int = 1, stream: int = 0):
        self.sweeps = params["sweeps"]
        self.beta = P.linear_schedule(params["beta_start"], params["beta_stop"])
        self.gamma = P.linear_schedule(params["transverse_field_high"], params["transverse_field_low"])
        self.state = QmcState(model, params["restarts"], params["trotter_number"], params["beta_start"], seed,
                              stream, keep=keep)
        self.steps_done = 0

    @property
    def walkers(self) -> int:
        return self.state.S.shape[0]  # restarts: run_steps may split a long sweep by restarts

    def _sweeps(self, first: int, end: int, lo: int = 0, hi: int | None = None) -> None:
        self.state.sweep_schedule(P.schedule_values(self.beta, self.sweeps, first, end),
                                  P.schedule_values(self.gamma, self.sweeps, first, end), LOCAL_MOVES, lo, hi)

    def advance(self, steps: int) -> None:
        end = min(self.sweeps, self.steps_done + steps)
        self._sweeps(self.steps_done, end)
        self.steps_done = end

    def piece(self, lo: int, hi: int) -> None:
        self._sweeps(self.steps_done, self.steps_done + 1, lo, hi)

    def finish(self) -> None:
        self.steps_done += 1

    def best_cost(self) -> float:
        return float(self.state.bestE.min())


@register(targets.QMC)
def quantum_monte_carlo(ctx: SolveContext) -> SolveResult:
    params = P.qmc_parameters(ctx)
    model = ctx.model
    check_walker_memory(model, params["restarts"] * params["trotter_number"], keep=ctx.number_of_solutions,
                        what="slices (restarts × trotter_number)")
    if params["beta_start"] <= 0 or params["beta_stop"] <= 0:
        raise ContractError(errors.INVALID_PARAMETERS, "QMC needs beta_start and beta_stop > 0")
    run = QmcRun(model, params, ctx.seed, keep=ctx.number_of_solutions)
    done, stopped = run_steps(ctx, run, params["sweeps"])
    states, costs = exact_best(model, run.state.candidates(), ctx.number_of_solutions)
    if "timeout" in ctx.params:
        params["timeout"] = ctx.params["timeout"]
    return SolveResult(states=states, costs=costs, parameters=params, sweeps_done=done, stopped_early=stopped)


__all__ = ["quantum_monte_carlo", "bond_probability"]
