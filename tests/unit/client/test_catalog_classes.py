"""The native client's Toshiba and 1QBit solver classes: the SDK's constructor arguments, flat inputParams (1QBit's
as str()), providers and output formats, problem checks, and get_targets building them (contract §6)."""
from __future__ import annotations

import pytest

from contracts import targets as ids
from services.client.aio import optimization as aopt
from services.client.optimization import (
    ContentType,
    PathRelinkingSolver,
    Problem,
    PticmSolver,
    SimulatedBifurcationMachine,
    TabuSearch,
)
from services.client.target import TargetStatus, targets_from_status

WS = object()  # constructors never touch the workspace


@pytest.mark.parametrize("module", [None, aopt], ids=["sync", "aio"])
@pytest.mark.parametrize("cls,kwargs,target,provider,output,params", [
    (SimulatedBifurcationMachine, {"loops": 10}, ids.SBM, "toshiba", "microsoft.qio-results.v2", {"loops": 10}),
    (SimulatedBifurcationMachine, {"steps": 0, "target": -5.0, "maxout": 3, "timeout": 2.5, "dt": 0.5, "C": 0.1,
                                   "algo": "1.5", "auto": False, "loops": 2}, ids.SBM, "toshiba",
     "microsoft.qio-results.v2",
     {"steps": 0, "loops": 2, "target": -5.0, "maxout": 3, "timeout": 2.5, "dt": 0.5, "C": 0.1, "algo": "1.5",
      "auto": False}),
    (TabuSearch, {"improvement_cutoff": 10, "improvement_tolerance": 1e-9, "seed": 123, "tabu_tenure": 2,
                  "tabu_tenure_rand_max": 2, "timeout": 2}, ids.QBIT_TABU, "1qbit", "microsoft.qio-results.v1",
     {"improvement_cutoff": "10", "improvement_tolerance": "1e-09", "seed": "123", "tabu_tenure": "2",
      "tabu_tenure_rand_max": "2", "timeout": "2"}),
    (PathRelinkingSolver, {"distance_scale": 0.44, "greedy_path_relinking": False, "ref_set_count": 10},
     ids.QBIT_PR, "1qbit", "microsoft.qio-results.v1",
     {"distance_scale": "0.44", "greedy_path_relinking": "False", "ref_set_count": "10"}),
    (PticmSolver, {"num_sweeps_per_run": 99, "auto_set_temperatures": False, "manual_temperatures": [1.0, 2.0],
                   "goal": "SAMPLE"}, ids.QBIT_PTICM, "1qbit", "microsoft.qio-results.v1",
     {"auto_set_temperatures": "False", "goal": "SAMPLE", "manual_temperatures": "[1.0, 2.0]",
      "num_sweeps_per_run": "99"}),
])
def test_flat_parameters_providers_and_formats(module, cls, kwargs, target, provider, output, params):
    if module is not None:
        cls = getattr(module, cls.__name__)
    solver = cls(WS, **kwargs)
    assert (solver.name, solver.provider_id, solver.output_data_format) == (target, provider, output)
    assert solver.params == params and list(solver.params) == list(params)  # the SDK's key order
    assert ids.validate_params(target, solver.params)  # what the service accepts
    solver.set_number_of_solutions(3)
    assert solver.params["number_of_solutions"] in (3, "3")
    assert not solver.supports_grouped_terms() and not solver.supports_protobuf()


def test_perform_icm_is_deprecated_and_not_sent():
    with pytest.deprecated_call():
        solver = PticmSolver(WS, perform_icm=True, seed=42)
    assert solver.params == {"seed": "42"}


def test_grouped_and_protobuf_problems_are_refused_as_the_sdk_does():
    grouped = Problem("g")
    grouped.add_slc_term([(1, 0), (1, 1)])
    for solver in (SimulatedBifurcationMachine(WS), TabuSearch(WS), PticmSolver(WS), PathRelinkingSolver(WS)):
        with pytest.raises(ValueError, match="Solver type is not compatiblewith problem type"):
            solver.check_valid_problem(grouped)
        with pytest.raises(ValueError, match="not compatible for serialization with protobuf"):
            solver.check_valid_problem(Problem("p", content_type=ContentType.protobuf))


def test_targets_from_status_builds_the_catalog_classes():
    from services.client.aio.optimization.solvers import TARGET_CLASSES as AIO_CLASSES
    from services.client.optimization.solvers import TARGET_CLASSES

    statuses = [("toshiba", TargetStatus(ids.SBM, "Available", 0))] + \
        [("1qbit", TargetStatus(t, "Available", 0)) for t in ids.ONEQBIT_TARGETS]
    for classes, module in ((TARGET_CLASSES, None), (AIO_CLASSES, aopt)):
        found = targets_from_status(WS, statuses, classes)
        assert [type(t).__name__ for t in found] == ["SimulatedBifurcationMachine", "TabuSearch",
                                                      "PathRelinkingSolver", "PticmSolver"]
        assert [t.provider_id for t in found] == ["toshiba", "1qbit", "1qbit", "1qbit"]
        if module is not None:
            assert isinstance(found[0], aopt.SimulatedBifurcationMachine)
