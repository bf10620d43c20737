"""Solver classes: target ids, parameter-free switching, nested params and the SDK's validation messages (§6)."""
from __future__ import annotations

import pytest

from contracts import targets as ids
from services.client.aio import optimization as aopt
from services.client.optimization import (
    ContentType,
    HardwarePlatform,
    ParallelTempering,
    PopulationAnnealing,
    Problem,
    ProblemType,
    QuantumMonteCarlo,
    RangeSchedule,
    SimulatedAnnealing,
    Solver,
    SubstochasticMonteCarlo,
    Tabu,
)
from services.client.target import Target, TargetStatus, targets_from_status

WS = object()  # constructors never touch the workspace


@pytest.mark.parametrize("module", [None, aopt], ids=["sync", "aio"])
@pytest.mark.parametrize(
    "cls,kwargs,target,params",
    [
        (SimulatedAnnealing, {}, ids.SA_PF, {}),
        (SimulatedAnnealing, {"timeout": 5, "seed": 3}, ids.SA_PF, {"timeout": 5, "seed": 3}),
        (SimulatedAnnealing, {"beta_start": 0}, ids.SA, {"beta_start": 0}),
        (SimulatedAnnealing, {"sweeps": 10, "restarts": 2, "beta_stop": 1.5, "seed": 1}, ids.SA,
         {"beta_stop": 1.5, "sweeps": 10, "restarts": 2, "seed": 1}),
        (ParallelTempering, {"timeout": 5}, ids.PT_PF, {"timeout": 5}),
        (ParallelTempering, {"all_betas": [0.1, 1.0, 2.0]}, ids.PT, {"all_betas": [0.1, 1.0, 2.0], "replicas": 3}),
        (ParallelTempering, {"sweeps": 5, "replicas": 2, "all_betas": [1, 2], "seed": 4, "timeout": 9}, ids.PT,
         {"sweeps": 5, "replicas": 2, "all_betas": [1, 2], "seed": 4, "timeout": 9}),
        (Tabu, {"seed": 2}, ids.TABU_PF, {"seed": 2}),
        (Tabu, {"tabu_tenure": 0}, ids.TABU, {"tabu_tenure": 0}),
        (Tabu, {"restarts": 72, "sweeps": 3}, ids.TABU, {"sweeps": 3, "restarts": 72}),
        (QuantumMonteCarlo, {}, ids.QMC, {}),
        (QuantumMonteCarlo, {"trotter_number": 4, "transverse_field_start": 5.0, "transverse_field_stop": 0.1,
                             "beta_start": 1.0, "restarts": 2, "sweeps": 7, "seed": 1}, ids.QMC,
         {"sweeps": 7, "trotter_number": 4, "seed": 1, "transverse_field_start": 5.0, "transverse_field_stop": 0.1,
          "beta_start": 1.0, "restarts": 2}),
        (PopulationAnnealing, {}, ids.PA, {}),
        (PopulationAnnealing, {"timeout": 5}, ids.PA_PF, {"timeout": 5}),
        (PopulationAnnealing, {"alpha": 2.0, "population": 8, "sweeps": 100, "seed": 1,
                               "beta": RangeSchedule("linear", 0.5, 5)}, ids.PA,
         {"alpha": 2.0, "seed": 1, "population": 8, "sweeps": 100,
          "beta": {"type": "linear", "initial": 0.5, "final": 5}}),
        (SubstochasticMonteCarlo, {}, ids.SSMC, {}),
        (SubstochasticMonteCarlo, {"timeout": 2, "seed": 3}, ids.SSMC_PF, {"seed": 3, "timeout": 2}),
        (SubstochasticMonteCarlo, {"alpha": RangeSchedule("geometric", 1, 0.1), "beta": RangeSchedule("linear", 1, 5),
                                   "steps_per_walker": 2, "target_population": 8, "step_limit": 100}, ids.SSMC,
         {"steps_per_walker": 2, "target_population": 8, "step_limit": 100,
          "alpha": {"type": "geometric", "initial": 1, "final": 0.1},
          "beta": {"type": "linear", "initial": 1, "final": 5}}),
    ],
)
def test_target_and_nested_params(module, cls, kwargs, target, params):
    if module is not None:
        cls = getattr(module, cls.__name__)
    solver = cls(WS, **kwargs)
    assert solver.name == target
    assert solver.params == {"params": params}
    assert list(solver.params["params"]) == list(params)  # the SDK's key order
    assert solver.provider_id == "Microsoft"
    assert solver.input_data_format == "microsoft.qio.v2"
    assert solver.output_data_format == "microsoft.qio-results.v2"
    assert solver.supports_grouped_terms() and solver.supports_protobuf()


def test_explicit_parameter_free_name_stays_parameter_free():
    assert SimulatedAnnealing(WS, name=ids.SA_PF, sweeps=10).name == ids.SA_PF
    assert PopulationAnnealing(WS, name="custom.target", timeout=3).name == ids.PA_PF


def test_set_one_param_and_number_of_solutions():
    solver = Tabu(WS, sweeps=1)
    solver.set_one_param("disabled_features", [2])
    solver.set_one_param("ignored", None)
    solver.set_number_of_solutions(5)
    assert solver.params == {"params": {"sweeps": 1, "disabled_features": [2], "number_of_solutions": 5}}


def test_parallel_tempering_replicas_mismatch():
    with pytest.raises(ValueError) as info:
        ParallelTempering(WS, replicas=3, all_betas=[1.0, 2.0])
    assert str(info.value) == "Parameter 'replicas' must equal thelength of the 'all_betas' parameters."


@pytest.mark.parametrize(
    "cls,kwargs,message",
    [
        (PopulationAnnealing, {"population": 1.5}, "population must be of type int; foundtype(population)=float."),
        (PopulationAnnealing, {"sweeps": 0}, "sweeps must be positive; found sweeps=0."),
        (PopulationAnnealing, {"timeout": -1}, "timeout must be positive; found timeout=-1."),
        (PopulationAnnealing, {"alpha": 1.0}, "alpha must be greater than 1.0; found alpha=1.0."),
        (PopulationAnnealing, {"alpha": "2"}, "alpha must be a float!"),
        (PopulationAnnealing, {"beta": (0, 1)}, "beta must be of type RangeSchedule; found type(beta)=tuple."),
        (PopulationAnnealing, {"beta": RangeSchedule("linear", 2, 1)},
         "Schedule for beta must be increasing; found beta.initial=2 > 1=beta.final."),
        (PopulationAnnealing, {"beta": RangeSchedule("linear", 0, 1)},
         "beta.initial must be greater than 0; found beta.initial=0."),
        (SubstochasticMonteCarlo, {"step_limit": 2.0}, "step_limit must be of type int; foundtype(step_limit)=float."),
        (SubstochasticMonteCarlo, {"target_population": 0},
         "target_population must be positive; found target_population=0."),
        (SubstochasticMonteCarlo, {"steps_per_walker": -2},
         "steps_per_walker must be positive; found steps_per_walker=-2."),
        (SubstochasticMonteCarlo, {"alpha": RangeSchedule("linear", 0.1, 1)},
         "Schedule for alpha must be decreasing; found alpha.initial=0.1 < 1=alpha.final."),
        (SubstochasticMonteCarlo, {"alpha": RangeSchedule("linear", 1, -0.5)},
         "alpha.final must be greater equal 0; found alpha.final=-0.5."),
        (SubstochasticMonteCarlo, {"beta": RangeSchedule("linear", 0, 5)},
         "beta.initial must be greater than 0; found beta.initial=0."),
    ],
)
def test_validation_messages_match_the_sdk(cls, kwargs, message):
    with pytest.raises(ValueError) as info:
        cls(WS, **kwargs)
    assert str(info.value) == message


def test_range_schedule_and_hardware():
    with pytest.raises(ValueError, match='"schedule_type" must be "linear" or "geometric"!'):
        RangeSchedule("cubic", 0, 1)
    with pytest.raises(ValueError, match="FPGA hardware option"):
        SimulatedAnnealing(WS, platform=HardwarePlatform.FPGA)


def test_check_valid_problem():
    grouped = Problem("g")
    grouped.add_slc_term([(1, 0), (1, 1)])
    assert grouped.problem_type is ProblemType.ising_grouped
    SimulatedAnnealing(WS).check_valid_problem(grouped)  # Microsoft solvers take grouped and protobuf problems
    plain = Solver(WS, "other.solver")
    with pytest.raises(ValueError, match="Solver type is not compatiblewith problem type"):
        plain.check_valid_problem(grouped)
    with pytest.raises(ValueError, match="not compatible for serialization with protobuf"):
        plain.check_valid_problem(Problem("p", content_type=ContentType.protobuf))


def test_submit_needs_the_matching_workspace_flavour():
    with pytest.raises(TypeError, match="services.client.Workspace"):
        SimulatedAnnealing(WS).submit("http://127.0.0.1/blob")


def test_targets_from_status_builds_solver_instances():
    statuses = [("Microsoft", TargetStatus(i, "Available", 0)) for i in
                (ids.SA, ids.SA_PF, ids.PT, ids.QMC, "other.target")]
    from services.client.optimization.solvers import TARGET_CLASSES

    found = targets_from_status(WS, statuses, TARGET_CLASSES)
    assert [type(t).__name__ for t in found] == ["SimulatedAnnealing", "ParallelTempering", "QuantumMonteCarlo",
                                                  "Target"]
    assert found[0].name == ids.SA_PF  # built without parameters: the SDK's parameter-free switch applies
    assert found[0].current_availability == "Available" and found[0].average_queue_time == 0
    assert isinstance(found[3], Target) and found[3].provider_id == "Microsoft"
    single = targets_from_status(WS, statuses[:1], TARGET_CLASSES)
    assert isinstance(single, SimulatedAnnealing)
