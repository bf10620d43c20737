"""The same example with the async client (services.client.aio), the primary client."""
import asyncio

from services.client.aio import Workspace
from services.client.aio.optimization import Problem, ProblemType, SimulatedAnnealing
from services.client.errors import ConflictError


async def main() -> None:
    async with Workspace() as workspace:
        print([job.id for job in await workspace.list_jobs()])
        problem = Problem(name="MyOptimizationJob", problem_type=ProblemType.ising)
        problem.add_term(c=-9, indices=[0])
        problem.add_term(c=-3, indices=[1, 0])
        problem.add_term(c=5, indices=[2, 0])
        job = await SimulatedAnnealing(workspace).submit(problem)
        job = await workspace.get_job(job.id)
        print(await job.get_results())
        print(job.details)
        try:
            await workspace.cancel_job(job)
        except ConflictError as exc:  # the job has finished: 409 JobAlreadyFinished
            print(f"cancel_job: {exc.code}; the job stays {job.details.status.value}")


asyncio.run(main())
