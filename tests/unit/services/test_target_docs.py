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
    assert [r["name"] for r in rows] == sorted({*targets.COMMON_PARAMS, *targets.SCHEMAS[target]})
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


def test_types_come_from_the_schema():
    assert type_text(targets.SCHEMAS[targets.SA]["sweeps"]) == "int 1..1e9"
    assert type_text(targets.COMMON_PARAMS["timeout"]) == "number > 0, ≤ 86400"
    assert type_text(targets.COMMON_PARAMS["seed"]) == "int 0..2⁶³−1"
    assert type_text(targets.SCHEMAS[targets.PA]["culling_fraction"]) == "number > 0, ≤ 1"
    assert type_text(targets.SCHEMAS[targets.PT]["all_betas"]) == "list of numbers ≥ 0"
    assert type_text(targets.SCHEMAS[targets.PA]["constant_population"]) == "bool"
    assert type_text(targets.SCHEMAS[targets.PA]["beta"]) == "schedule {type, initial, final}, increasing"
