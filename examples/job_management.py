"""The job-management example from the Azure Quantum documentation, with only the imports and the workspace line
changed. Run it with `make run` going in another shell: `.venv/bin/python examples/job_management.py`."""
from services.client import Workspace
from services.client.optimization import Problem, ProblemType, Term, ParallelTempering, SimulatedAnnealing  # noqa: F401

workspace = Workspace()          # connects through .openqio/connection.json written by `make run`
print([job.id for job in workspace.list_jobs()])

problem = Problem(name="MyOptimizationJob", problem_type=ProblemType.ising)
problem.add_term(c=-9, indices=[0])
problem.add_term(c=-3, indices=[1, 0])
problem.add_term(c=5, indices=[2, 0])
job = SimulatedAnnealing(workspace).submit(problem)
print(job.id)

job = workspace.get_job(job.id)
print(job.get_results())   # {'solutions': [{'configuration': {'0': 1, '1': 1, '2': -1}, 'cost': -17.0}], ...}
print(job.details)         # every field of the job
try:
    workspace.cancel_job(job)  # the job has finished: the service answers 409 with a clear message
except Exception as exc:  # noqa: BLE001 - shown to the user, as the documentation's example does
    print(f"cancel_job: {exc}")
