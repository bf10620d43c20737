"""The job-management example from the Azure Quantum documentation, with only the imports and the workspace line
changed. Run it with `make run` going in another shell: `.venv/bin/python examples/job_management.py`."""
from services.client import Workspace
from services.client.errors import ConflictError
from services.client.optimization import Problem, ProblemType, SimulatedAnnealing

workspace = Workspace()          # connects through .openqio/connection.json written by `make run`
print([job.id for job in workspace.list_jobs()])

problem = Problem(name="MyOptimizationJob", problem_type=ProblemType.ising)
problem.add_term(c=-9, indices=[0])
problem.add_term(c=-3, indices=[1, 0])
problem.add_term(c=5, indices=[2, 0])
job = SimulatedAnnealing(workspace).submit(problem)
print(job.id)

job = workspace.get_job(job.id)
print(job.get_results())   # {'version': '1.0', 'configuration': {'0': 1, '1': 1, '2': -1}, 'cost': -17.0, ...}
print(job.details)         # every field of the job
try:
    workspace.cancel_job(job)
except ConflictError as exc:   # the job has finished: 409 JobAlreadyFinished
    print(f"cancel_job: {exc.code}; the job stays {job.details.status.value}")
