"""services.client.dimod against the real service: dimod's own sampler tests and asserts, energies in the model's
vartype and offset, labels, number_of_solutions, info, jobs side by side, cancellation and polynomials."""
from __future__ import annotations

import itertools
import unittest
import uuid
import warnings
from pathlib import Path

import pytest

from tests.conftest import IN_CI

try:
    import dimod
    import dimod.testing
except ImportError:  # the `ocean` extra; `make test` installs it, so CI never gets here
    if IN_CI:
        raise
    pytest.skip("dimod is not installed: pip install -e '.[ocean]'", allow_module_level=True)

from contracts import targets
from services.client import JobStatus, Workspace
from services.client.dimod import OpenQIOPolySampler, OpenQIOSampler, SampleFuture
from tests.integration.test_client_seed_flow import run_example

pytestmark = pytest.mark.integration
FAST = {"sweeps": 200, "seed": 7}  # small problems: a fraction of a second per job


@pytest.fixture(scope="module")
def workspace(openqio_service):
    with Workspace(connection_file=openqio_service.connection_file) as ws:
        yield ws


@pytest.fixture(scope="module")
def sampler(workspace):
    return OpenQIOSampler(workspace, target="sa", **FAST)


# -- dimod's own sampler tests (dimod.testing.load_sampler_bqm_tests) ------------------------------------------------

class ServiceSampler(dimod.Sampler):
    """dimod builds its test methods when this module is imported, before the service runs: this sampler stands
    in for them and hands every call to the real OpenQIOSampler that the fixture below attaches."""

    real: OpenQIOSampler | None = None

    @property
    def parameters(self):
        return self.real.parameters

    @property
    def properties(self):
        return self.real.properties

    def sample(self, bqm, **parameters):
        return type(self).real.sample(bqm, **parameters)


@dimod.testing.load_sampler_bqm_tests(ServiceSampler)
class TestDimodSamplerSuite(unittest.TestCase):
    """Empty, one-variable, one-path and two-path models with awkward labels ((('a',),), 0, 'c'), as SPIN and
    BINARY, in three BQM classes, through sample, sample_ising and sample_qubo."""

    @pytest.fixture(autouse=True)
    def _attach(self, sampler):
        ServiceSampler.real = sampler


def test_sampler_api(sampler):
    dimod.testing.assert_sampler_api(sampler)
    assert set(sampler.parameters) >= {"sweeps", "beta_start", "beta_stop", "restarts", "seed", "timeout",
                                       "number_of_solutions"}
    assert sampler.properties["target"] == targets.SA and sampler.properties["solver"] == "SimulatedAnnealing"
    assert OpenQIOSampler(sampler.workspace, target="pt", timeout=5).properties["target"] == targets.PT_PF
    assert OpenQIOSampler(sampler.workspace, target="microsoft.tabu.cpu").properties["solver"] == "Tabu"


def test_sampleset_energies_offset_and_info(sampler, workspace):
    bqm = dimod.generators.ran_r(3, 14, seed=5)  # SPIN, ±1..3 couplings
    bqm.offset = 12.75
    bqm.add_linear_from({v: 0.5 for v in list(bqm.variables)[:4]})
    sampleset = sampler.sample(bqm, number_of_solutions=4, seed=11)
    dimod.testing.assert_sampleset_energies(sampleset, bqm)
    assert sampleset.vartype is dimod.SPIN and len(sampleset) == 4
    assert list(sampleset.record.num_occurrences) == [1, 1, 1, 1]
    info = sampleset.info
    assert info["target"] == targets.SA and info["parameters"]["seed"] == 11 and info["parameters"]["sweeps"] == 200
    assert set(info["timing"]) == {"queue_s", "run_s", "total_s"} and info["timing"]["total_s"] >= 0
    results = workspace.get_job(info["job_id"]).get_results()
    costs = sorted(s["cost"] for s in results["solutions"])
    assert sorted(sampleset.record.energy) == pytest.approx(costs)  # the service's cost includes the offset


def test_binary_model_with_string_labels(sampler):
    bqm = dimod.BinaryQuadraticModel({"apple": -1.0, ("pear", 2): 2.0, "fig": 0.0},
                                     {("apple", ("pear", 2)): -3.0}, -1.0, "BINARY")
    sampleset = sampler.sample(bqm)
    dimod.testing.assert_sampleset_energies(sampleset, bqm)
    assert set(sampleset.variables) == {"apple", ("pear", 2), "fig"}
    assert sampleset.first.energy == min(bqm.energy(dict(zip(bqm.variables, x)))
                                         for x in itertools.product((0, 1), repeat=3))


def test_jobs_run_side_by_side(workspace):
    sampler = OpenQIOSampler(workspace, target="sa", sweeps=10**8, timeout=2, seed=3)  # each stops at its 2 s
    bqms = [dimod.generators.ran_r(1, 30, seed=s) for s in range(3)]
    samplesets = [sampler.sample(b) for b in bqms]
    assert not any(s.done() for s in samplesets)  # all three submitted, none waited for
    for sampleset, bqm in zip(samplesets, bqms):
        dimod.testing.assert_sampleset_energies(sampleset, bqm)
    finished = [workspace.get_job(s.info["job_id"]).details for s in samplesets]
    assert max(d.creation_time for d in finished) < min(d.end_execution_time for d in finished)


def test_submit_cancel_and_done(workspace):
    sampler = OpenQIOSampler(workspace, target="pt", timeout=120)
    future = sampler.submit(dimod.generators.ran_r(1, 200, seed=1))
    assert isinstance(future, SampleFuture) and not future.done()
    assert future.cancel() is True
    future.job.wait_until_completed(print_progress=False)
    assert future.job.details.status == JobStatus.CANCELLED and future.done() and future.cancel() is False
    with pytest.raises(RuntimeError, match="Cancelled"):
        future.result()


def test_parameters_are_checked(workspace, sampler):
    with pytest.raises(TypeError, match="has no parameter tabu_tenure"):
        OpenQIOSampler(workspace, target="sa", tabu_tenure=3)
    with pytest.raises(ValueError, match="unknown target"):
        OpenQIOSampler(workspace, target="annealer")
    with pytest.raises(ValueError, match="number_of_solutions"):
        sampler.sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "SPIN"), number_of_solutions=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampleset = sampler.sample(dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0.0, "SPIN"), num_reads=5)
        assert sampleset.first.sample == {"a": -1}
    assert any(issubclass(w.category, dimod.exceptions.SamplerUnknownArgWarning) for w in caught)


def test_poly_sampler(workspace):
    sampler = OpenQIOPolySampler(workspace, target="tabu", sweeps=100, seed=2)
    poly = dimod.BinaryPolynomial({("a", "b", "c"): -3.0, ("b", "d"): 2.0, ("a",): 1.0, ("c", "d", "e", "f"): -1.5,
                                   (): 0.5}, "BINARY")
    sampleset = sampler.sample_poly(poly, number_of_solutions=3)
    dimod.testing.assert_sampleset_energies(sampleset, poly)
    best = min(poly.energy(dict(zip(poly.variables, x))) for x in itertools.product((0, 1), repeat=6))
    assert sampleset.first.energy == best and len(sampleset) == 3
    spin = sampler.sample_hising({"a": 1.0}, {("a", "b", "c"): -2.0})
    assert spin.vartype is dimod.SPIN and spin.first.energy == -3.0
    empty = sampler.sample_poly(dimod.BinaryPolynomial({(): 4.0}, "SPIN"))
    assert len(empty) == 1 and empty.first.energy == 4.0


def test_example_script(openqio_service):
    lines = run_example(openqio_service, "ocean_sampler.py")
    first = lines[0]
    assert first.endswith(" -2.5") and "'x': " in first  # the ring's ground energy (-4), its field, offset 2
    assert lines[1].startswith("job ") and "microsoft.paralleltempering.cpu" in lines[1]
    assert lines[2].startswith("best energies: [") and lines[3].startswith("polynomial: Sample(")
    assert lines[4].lstrip(".").startswith("native: {'x': ") and lines[4].endswith(" -2.5")  # dots: get_results polls
    assert "c offset" in lines[5] and "type=pubo" in lines[5]


def test_readme_example_verbatim(openqio_service, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = readme.split("## Ocean users", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 5
    monkeypatch.setenv("OPENQIO_CONNECTION", str(openqio_service.connection_file))
    exec(compile(code, "README.md", "exec"), {})
    energy, job_id = capsys.readouterr().out.split()
    assert float(energy) < 0 and uuid.UUID(job_id)
