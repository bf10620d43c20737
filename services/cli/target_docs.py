"""What `openqio targets` says about each solver parameter: its type (from contracts.targets' schema, so it cannot
drift from what the service accepts), its default and its meaning (written here, from solver_runner's defaults).

Defaults are the runner's (solver_runner/params.py and solver_runner/solvers/*: every run echoes the values it used
in its result's `parameters`); "n" is the number of variables, "threads" the runner's threads, "β range" the
inverse temperatures derived from the problem's coefficients (solver_runner.params.default_beta_range).
tests/unit/services/test_target_docs.py checks that every parameter of every target has an entry, and the numbers
against the runner's constants.
"""
from __future__ import annotations

from contracts import targets
from contracts.targets import Param

from .params import short_name

# name -> (default, meaning), per parameterised target; parameter-free targets tune their twin's parameters
COMMON: dict[str, tuple[str, str]] = {
    "seed": ("random", "makes the run reproducible; echoed in the result"),
    "timeout": ("none", "seconds after which the best solution so far is returned"),
    "number_of_solutions": ("1", "distinct best solutions returned"),
}

DOCS: dict[str, dict[str, tuple[str, str]]] = {
    targets.SA: {
        "beta_start": ("from the problem's β range", "inverse temperature of the first sweep (linear schedule)"),
        "beta_stop": ("from the problem's β range", "inverse temperature of the last sweep"),
        "beta": ("-", "openqio: a schedule {type: linear|geometric, initial, final} instead of beta_start/beta_stop "
                 "(the parameter-free SA anneals geometrically and echoes it)"),
        "sweeps": ("1000", "passes over all variables, per restart"),
        "restarts": ("max(8, threads)", "independent annealing runs"),
    },
    targets.PT: {
        "sweeps": ("1000", "steps: one sweep of every replica, then one round of exchanges"),
        "replicas": ("max(threads, √n clamped to 8..32)", "temperatures; must equal the length of all_betas"),
        "all_betas": ("geometric from −ln(0.5)/(90th-percentile uphill ΔE at a random state) to QIO's β_stop",
                      "inverse temperature of each replica"),
    },
    targets.TABU: {
        "sweeps": ("10·n, clamped to 1000..20000", "moves per restart"),
        "tabu_tenure": ("min(20, n/4)", "moves a flipped variable stays tabu"),
        "restarts": ("max(8, threads)", "independent walkers"),
        "disabled_features": ("none", "accepted for SDK compatibility; no effect"),
    },
    targets.QMC: {
        "sweeps": ("1000", "cluster and local passes over all slices"),
        "trotter_number": ("8", "imaginary-time slices per restart"),
        "restarts": ("max(4, threads)", "independent runs"),
        "beta_start": ("beta_stop, else from the problem's β range", "inverse temperature at the first sweep"),
        "beta_stop": ("beta_start", "inverse temperature at the last sweep (QIO: constant β)"),
        "transverse_field_start": ("atanh(0.99)·trotter_number/β", "transverse field Γ at the first sweep"),
        "transverse_field_stop": ("0", "Γ at the last sweep"),
        "transverse_field_high": ("= transverse_field_start", "the service's name of transverse_field_start"),
        "transverse_field_low": ("= transverse_field_stop", "the service's name of transverse_field_stop"),
    },
    targets.PA: {
        "alpha": ("2", "restart when fewer than alpha effective families remain"),
        "population": ("max(64, threads)", "walkers"),
        "sweeps": ("2·population", "annealing steps, shared by all restarts"),
        "beta": ("geometric over the problem's β range", "the increasing β schedule"),
        "beta_start": ("-", "with beta_stop and no beta: a linear schedule from here"),
        "beta_stop": ("-", "the end of that linear schedule"),
        "sweeps_per_replica": ("1", "sweeps of every walker per step"),
        "culling_fraction": ("none: resample by weight", "fraction of walkers dropped per step (constant culling)"),
        "constant_population": ("true", "resample to exactly `population` walkers"),
    },
    targets.SSMC: {
        "steps_per_walker": ("1", "flip attempts of each walker per step"),
        "target_population": ("max(64, threads)", "walkers"),
        "step_limit": ("10000", "steps"),
        "alpha": ("linear 1 → 0", "decreasing schedule: the probability of a walker's step"),
        "beta": ("linear 0.001 → 5", "increasing schedule: the strength of the resampling"),
    },
    targets.SBM: {
        "steps": ("0: 1000, doubled every loop, ≤ 100000", "steps of each run"),
        "loops": ("1", "loops of 160 runs each; 0: until timeout or target"),
        "target": ("none", "stop once a solution costs at most this (message 'reached')"),
        "maxout": ("1", "distinct best solutions returned"),
        "timeout": ("10", "seconds; the best so far is returned (message 'timeout')"),
        "dt": ("1", "time per step, as a fraction of the largest stable one"),
        "C": ("0: 0.5/(√N·σ) of the couplings", "ξ0, the strength of the couplings"),
        "algo": ('"2.0"', '"2.0": discrete SB, "1.5": ballistic SB'),
        "auto": ("false", "tune dt and algo within timeout; the output adds dt, algo, total_time"),
    },
    targets.QBIT_TABU: {
        "improvement_cutoff": ("0: max(1000, 10·n)", "moves without improvement after which a walker stops"),
        "improvement_tolerance": ("1e-09", "the least cost drop that counts as an improvement"),
        "tabu_tenure": ("0: max(1, n/100)", "moves a flipped variable stays tabu ..."),
        "tabu_tenure_rand_max": ("0: min(10, n/2)", "... plus a random 0..this−1"),
        "timeout": ("0: none", "milliseconds"),
    },
    targets.QBIT_PR: {
        "distance_scale": ("0.33", "path solutions this fraction of the ends' distance from both are candidates"),
        "greedy_path_relinking": ("false", "the path: greedy (true) or random (false)"),
        "ref_set_count": ("10", "elite solutions relinked pairwise"),
        "timeout": ("0: until 2 rebuilds find nothing better", "milliseconds"),
    },
    targets.QBIT_PTICM: {
        "auto_set_temperatures": ("true", "temperatures from the problem (unless some are given)"),
        "elite_threshold": ("0.3", "SPVAR: the fraction of best replicas whose agreement fixes variables"),
        "frac_icm_thermal_layers": ("0.5", "coldest fraction of temperatures doing Houdayer cluster moves"),
        "frac_sweeps_fixing": ("0.15", "fraction of sweeps observed before fixing variables"),
        "frac_sweeps_idle": ("1", "fraction of sweeps before that observation starts"),
        "frac_sweeps_stagnation": ("1", "fraction of sweeps without improvement that restarts every replica"),
        "goal": ("OPTIMIZE", "OPTIMIZE: best solutions; SAMPLE: samples of the coldest replicas"),
        "high_temp": ("2 (auto: from the problem)", "hottest temperature, in scaled units"),
        "low_temp": ("0.2 (auto: from the problem)", "coldest temperature, in scaled units"),
        "max_samples_per_layer": ("10", "SAMPLE: samples kept per replica"),
        "max_total_sweeps": ("10·num_sweeps_per_run", "sweeps in all"),
        "manual_temperatures": ("none", "the temperatures themselves"),
        "num_elite_temps": ("4", "PERSISTENCY: coldest temperatures whose replicas must agree"),
        "num_replicas": ("2", "replicas per temperature (Houdayer moves pair them)"),
        "num_sweeps_per_run": ("100", "sweeps per run (samples, restarts and fixing are decided between runs)"),
        "num_temps": ("30", "temperatures, geometric from high_temp to low_temp"),
        "perform_icm": ("true", "deprecated in the SDK; false turns cluster moves off"),
        "scaling_type": ("MEDIAN", "MEDIAN: temperatures in units of the median coefficient; NO_SCALING"),
        "var_fixing_type": ("NO_FIXING", "PERSISTENCY or SPVAR: fix variables the coldest replicas agree on"),
        "timeout": ("0: none", "milliseconds (an openqio extension)"),
    },
}
# Common parameters that read differently for a provider's targets
COMMON_BY_PROVIDER: dict[str, dict[str, tuple[str, str]]] = {
    targets.TOSHIBA_PROVIDER_ID: {
        "seed": ("random", "makes the run reproducible (an openqio extension)"),
        "number_of_solutions": ("1", "as maxout, when maxout is not given"),
    },
    targets.ONEQBIT_PROVIDER_ID: {
        "seed": ("random", "makes the run reproducible; echoed as seed, or seed (GENERATED)"),
    },
}


def type_text(spec: Param) -> str:
    """`int 1..1e9`, `number > 0`, `list of numbers ≥ 0`, `bool`, `schedule {type, initial, final}`."""
    kind = {"int": "int", "number": "number", "bool": "bool", "number_list": "list of numbers",
            "int_list": "list of ints", "schedule": "schedule {type, initial, final}", "choice": "one of"}[spec.kind]
    if spec.kind == "choice":
        return f"{kind} {', '.join(spec.choices)}"
    if spec.kind in ("bool", "schedule") or (spec.min is None and spec.max is None):
        return kind + (f", {spec.direction}" if spec.direction else "")
    low = _number(spec.min) if spec.min is not None else None
    high = _number(spec.max) if spec.max is not None else None
    if low is not None and high is not None and not spec.min_exclusive:
        return f"{kind} {low}..{high}"
    bound = f"> {low}" if spec.min_exclusive else (f"≥ {low}" if low is not None else "")
    return f"{kind} {bound}" + (f", ≤ {high}" if high is not None else "")


def _number(value: float) -> str:
    """1000, 0.5, 1e9, 2⁶³−1: short, exact enough to type back."""
    if value == 2**63 - 1:
        return "2⁶³−1"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}".replace("e+0", "e").replace("e+", "e")


def parameter_rows(target: str) -> list[dict[str, str]]:
    """One row per parameter a parameterised target accepts: name, type, default, meaning."""
    schema = targets.accepted_params(target)
    docs = {**COMMON, **COMMON_BY_PROVIDER.get(targets.family_of(target).provider_id, {}), **DOCS[target]}
    return [{"name": name, "type": type_text(spec), "default": docs[name][0], "meaning": docs[name][1]}
            for name, spec in sorted(schema.items())]


def parameter_free_note(target: str) -> str:
    """What a parameter-free target accepts: its twin's parameters, held fixed while the rest is tuned."""
    twin = targets.parameterised_twin(target)
    names = ", ".join(sorted({*targets.COMMON_PARAMS, *targets.SCHEMAS[twin]}))
    return (f"tunes itself within `timeout` (default {targets.PARAMETER_FREE_DEFAULT_TIMEOUT_S:g} s); accepts {names} "
            f"(as {short_name(twin) or twin} does), held fixed while the rest is tuned")
