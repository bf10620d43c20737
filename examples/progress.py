"""Watch a job run: the service streams its progress (elapsed time, sweeps done, best cost so far) as it works.
Run it with `make run` going in another shell: `.venv/bin/python examples/progress.py`.
The command-line twin: `openqio solve PROBLEM.json --target sa-pf --param timeout=3` draws a live progress bar."""
import random

from services.client import Workspace
from services.client.optimization import Problem, ProblemType, SimulatedAnnealing

workspace = Workspace()

# A 2000-spin random 3-regular ±J spin glass: big enough that the parameter-free solver works for its full timeout.
rng = random.Random(7)
n = 2000
stubs = [v for v in range(n) for _ in range(3)]
rng.shuffle(stubs)
problem = Problem(name="progress-demo", problem_type=ProblemType.ising)
for a, b in zip(stubs[::2], stubs[1::2]):
    if a != b:
        problem.add_term(c=rng.choice((-1, 1)), indices=[a, b])

job = SimulatedAnnealing(workspace, timeout=3).submit(problem)  # timeout only: the parameter-free target
print(f"job {job.id} submitted to {job.details.target}")


def show(event):
    if event.is_progress:
        d = event.data
        print(f"  {d['elapsed_s']:5.1f} s  {d['sweeps_done']:>8} sweeps  best cost {d['best_cost']:.0f}")
    else:
        print(f"  {event.kind}")


job.wait_until_completed(progress=show)
job.refresh()
print("final cost:", job.get_results()["cost"], "with", job.get_results()["parameters"])
