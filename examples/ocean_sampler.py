"""Ocean (dimod) models solved on openqio: a sampler, jobs side by side, a polynomial, the conversions and a file.
Run it with `make run` going in another shell: `.venv/bin/python examples/ocean_sampler.py` (needs the `ocean`
extra, which `make run` installs)."""
import tempfile
from pathlib import Path

import dimod

from services.client import Workspace
from services.client.dimod import OpenQIOPolySampler, OpenQIOSampler
from services.client.optimization import Problem, Tabu

workspace = Workspace()  # connects through .openqio/connection.json written by `make run`

# 1. A dimod sampler on one target; parameters as the solver class takes them (here parallel tempering).
sampler = OpenQIOSampler(workspace, target="pt", sweeps=200, seed=1)
bqm = dimod.BinaryQuadraticModel({"x": 0.5}, {("x", "y"): -1, ("y", "z"): 1, ("z", "w"): -1, ("w", "x"): 1}, 2.0,
                                 "SPIN")  # string labels, a field, an offset
sampleset = sampler.sample(bqm, number_of_solutions=3)
print(sampleset.first.sample, sampleset.first.energy)  # energies are the BQM's own, offset included
print("job", sampleset.info["job_id"], "ran", sampleset.info["target"], sampleset.info["timing"])

# 2. sample() submits and returns at once: these three jobs run side by side; each waits when first read.
samplesets = [sampler.sample(dimod.generators.ran_r(1, 40, seed=s)) for s in range(3)]
print("best energies:", [s.first.energy for s in samplesets])

# 3. Higher-order models: a PolySampler (QIO terms have any degree).
poly = dimod.BinaryPolynomial({("a", "b", "c"): -2.0, ("a",): 1.0, ("c", "d"): 0.5}, "BINARY")
print("polynomial:", OpenQIOPolySampler(workspace, target="sa", sweeps=100).sample_poly(poly).first)

# 4. The native client with Ocean's modelling: labels come back through the Problem.
problem = Problem.from_bqm(bqm)
result = Tabu(workspace, sweeps=50, seed=2).submit(problem).get_results()
print("native:", problem.to_labels(result["configuration"]), result["cost"])

# 5. Files: Gset, OR-Library bqp, qbsolv .qubo, dimod JSON, QIO JSON (gz) and protobuf, by extension.
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "model.qubo"
    problem.write(path)  # a QUBO file: the SPIN model rewritten exactly, its constant as a `c offset` comment
    print(path.read_text().splitlines()[1:3], Problem.read(path))
workspace.close()
