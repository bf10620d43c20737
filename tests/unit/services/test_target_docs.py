"""`openqio targets` documents every parameter: type from the schema, default and meaning that match the runner."""
from __future__ import annotations

import pytest

from contracts import targets
from services.cli.target_docs import DOCS, parameter_free_note, parameter_rows, type_text
from solver_runner import params as P

PARAMETERISED = [t for t in targets.ALL_TARGETS if t not in targets.PARAMETER_FREE]


@pytest.mark.parametrize("target", PARAMETERISED)
def test_every_parameter_has_a_type_a_default_and_a_meaning(target):
    rows = parameter_rows(target)
    assert [r["name"] for r in rows] == sorted(targets.accepted_params(target))
    for row in rows:
        assert row["type"] and row["default"] and row["meaning"], row
    assert set(DOCS[target]) == set(targets.SCHEMAS[target])  # nothing documented that the service refuses


@pytest.mark.parametrize("target", sorted(targets.PARAMETER_FREE))
def test_parameter_free_targets_say_only_what_they_accept(target):
    note = parameter_free_note(target)
    assert f"default {targets.PARAMETER_FREE_DEFAULT_TIMEOUT_S:g} s" in note and "held fixed" in note
    for name in targets.SCHEMAS[target]:
        assert name in note


def default(target: str, name: str) -> str:
    return next(r["default"] for r in parameter_rows(target) if r["name"] == name)


def test_defaults_are_the_runners():
    assert default(targets.SA, "sweeps") == str(P.DEFAULT_SWEEPS) == default(targets.QMC, "sweeps")
    assert default(targets.SA, "restarts") == f"max({P.DEFAULT_RESTARTS}, threads)" == default(targets.TABU, "restarts")
    assert default(targets.PT, "sweeps") == str(P.DEFAULT_PT_SWEEPS)
    assert f"{P.DEFAULT_PT_REPLICAS}..{P.MAX_DEFAULT_PT_REPLICAS}" in default(targets.PT, "replicas")
    assert f"{P.TABU_MIN_SWEEPS}..{P.TABU_MAX_SWEEPS}" in default(targets.TABU, "sweeps")
    assert default(targets.QMC, "trotter_number") == str(P.QMC_DEFAULT_TROTTER)
    assert default(targets.QMC, "restarts") == f"max({P.QMC_MIN_RESTARTS}, threads)"
    assert default(targets.PA, "population") == f"max({P.PA_DEFAULT_POPULATION}, threads)"
    assert default(targets.PA, "alpha") == f"{P.PA_DEFAULT_ALPHA:g}"
    assert default(targets.SSMC, "step_limit") == str(P.SSMC_DEFAULT_STEP_LIMIT)
    assert default(targets.SSMC, "target_population") == f"max({P.SSMC_DEFAULT_POPULATION}, threads)"
    assert default(targets.SSMC, "alpha") == "linear {:g} → {:g}".format(*P.SSMC_DEFAULT_ALPHA)
    assert default(targets.SSMC, "beta") == "linear {:g} → {:g}".format(*P.SSMC_DEFAULT_BETA)


def test_catalog_defaults_are_the_runners():
    assert default(targets.SBM, "steps") == f"0: {P.SB_AUTO_STEPS}, doubled every loop, ≤ {P.SB_MAX_AUTO_STEPS}"
    assert default(targets.SBM, "timeout") == f"{targets.TOSHIBA_DEFAULT_TIMEOUT_S:g}"
    assert "160 runs" in next(r["meaning"] for r in parameter_rows(targets.SBM) if r["name"] == "loops")
    from solver_runner.solvers.sbm import RUNS_PER_LOOP

    assert RUNS_PER_LOOP == 160
    computed = P.qbit_tabu_computed(1000)
    assert computed == {"tabu_tenure": 10, "tabu_tenure_rand_max": 10, "improvement_cutoff": 10_000}
    assert default(targets.QBIT_TABU, "tabu_tenure") == "0: max(1, n/100)"
    assert default(targets.QBIT_TABU, "improvement_cutoff") == "0: max(1000, 10·n)"
    assert default(targets.QBIT_PR, "timeout") == f"0: until {P.PR_STALE_REBUILDS} rebuilds find nothing better"
    for name, value in P.PTICM_DEFAULTS.items():
        text = default(targets.QBIT_PTICM, name)
        assert text.split(" ")[0] == (str(value).lower() if isinstance(value, bool) else f"{value:g}"
                                      if isinstance(value, float) else str(value)), name


def test_types_come_from_the_schema():
    assert type_text(targets.SCHEMAS[targets.SA]["sweeps"]) == "int 1..1e9"
    assert type_text(targets.COMMON_PARAMS["timeout"]) == "number > 0, ≤ 86400"
    assert type_text(targets.COMMON_PARAMS["seed"]) == "int 0..2⁶³−1"
    assert type_text(targets.SCHEMAS[targets.PA]["culling_fraction"]) == "number > 0, ≤ 1"
    assert type_text(targets.SCHEMAS[targets.PT]["all_betas"]) == "list of numbers ≥ 0"
    assert type_text(targets.SCHEMAS[targets.PA]["constant_population"]) == "bool"
    assert type_text(targets.SCHEMAS[targets.PA]["beta"]) == "schedule {type, initial, final}, increasing"
    assert type_text(targets.SCHEMAS[targets.SBM]["algo"]) == "one of 1.5, 2.0"
    assert type_text(targets.SCHEMAS[targets.SBM]["timeout"]) == "number 0.001..3600"
