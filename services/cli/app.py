"""The `openqio` command line (typer + rich).

    openqio serve [--with-azurite] ...             run the service (what `make run` starts)
    openqio submit PROBLEM.json[.gz] -t sa -p sweeps=1000     prints the job id
    openqio solve PROBLEM.json -t pt                submit, show live progress, print the result
    openqio solve G11.txt [--format gset]           any format of services.formats (Gset, bqp, .qubo, ...)
    openqio convert IN OUT                          between problem file formats (services/cli/formats.py)
    openqio jobs list [--status S] [--name RE] [--since 2h]
    openqio jobs show ID | openqio jobs cancel ID     (ID: a job id or a unique prefix of one)
    openqio results ID [--json] [--wait]
    openqio targets
    openqio load [--json]                           admitting or refusing (429), waiting, runners busy, limits

Client commands connect through .openqio/connection.json (found in the working directory or a parent; written by
`openqio serve`), $OPENQIO_CONNECTION, or `--connection PATH`. Errors are one line on stderr and a non-zero exit
code (1: the service or the job said no; 2: the command line is wrong), never a traceback.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer

from contracts.events import EventKind

from . import render
from .formats import FORMAT_OPT, INSTANCE_OPT, convert_command, read_problem_file
from .params import UsageError, parse_params, parse_since, resolve_target
from .serve import serve_command

app = typer.Typer(name="openqio", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode="rich",
                  help="openqio: a self-hosted Azure Quantum optimization (QIO) service and its command line.")
jobs_app = typer.Typer(no_args_is_help=True, help="List, show and cancel jobs.")
app.add_typer(jobs_app, name="jobs")
app.command("serve", help="Run the HTTPS gateway, dispatcher and runner pool (what `make run` starts).")(serve_command)
app.command("convert")(convert_command)

STATUSES = ("Waiting", "Executing", "Succeeded", "Failed", "Cancelled")


class CliFailure(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@app.callback()
def _root(ctx: typer.Context,
          connection: Path | None = typer.Option(
              None, "--connection", "-c", metavar="PATH",
              help="connection.json to use (default: $OPENQIO_CONNECTION, else .openqio/connection.json here or "
                   "in a parent folder)")) -> None:
    ctx.obj = {"connection": connection}


# -- plumbing --------------------------------------------------------------------------------------------------

def _workspace(ctx: typer.Context) -> Any:
    from services.client import aio
    from services.client.connection import CONNECTION_ENV, ConnectionConfigError, find_connection_file

    explicit = (ctx.find_root().obj or {}).get("connection")
    if explicit is not None and not Path(explicit).is_file():
        raise CliFailure(f"--connection {explicit}: no such file", 2)
    try:
        if find_connection_file(explicit) is None:
            raise CliFailure("no connection file: start the service with `make run` or `openqio serve` (it writes "
                             f".openqio/connection.json), or pass --connection PATH, or set ${CONNECTION_ENV}")
        return aio.Workspace(connection_file=explicit)
    except ConnectionConfigError as exc:
        raise CliFailure(str(exc)) from None


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one command's coroutine; turn every expected failure into a one-line message and an exit code."""
    from services.client.errors import AuthenticationError, ClientError, JobNotFoundError, ServiceConnectionError

    try:
        return asyncio.run(coro)
    except CliFailure as exc:
        _fail(str(exc), exc.code)
    except UsageError as exc:
        _fail(str(exc), 2)
    except JobNotFoundError as exc:
        _fail(exc.message)
    except AuthenticationError as exc:
        _fail(f"the service refused the token ({exc.message}); is connection.json from this service's data dir?")
    except ClientError as exc:
        _fail(f"the service answered {exc.status} {exc.code}: {exc.message}")
    except ServiceConnectionError as exc:
        _fail(str(getattr(exc, "message", None) or exc))
    except TimeoutError as exc:
        _fail(str(exc) or "timed out")


def _fail(message: str, code: int = 1) -> None:
    render.err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _busy(status: int, wait_s: float, message: str) -> None:
    """The service refused new work for now (429): say so while the client waits as it asked."""
    when = f"{wait_s:.1f}" if wait_s < 10 else f"{wait_s:.0f}"  # retry-after-ms: often under a second
    render.err.print(f"the service is busy ({message}); trying again in {when} s", highlight=False, soft_wrap=True)


async def _with(ctx: typer.Context, action) -> Any:
    workspace = _workspace(ctx)
    workspace._rest.on_backoff = _busy
    async with workspace:
        return await action(workspace)


MAX_CANDIDATES_SHOWN = 10


async def _find_job(ws: Any, job_id: str) -> Any:
    """The job with this id, or with this unique id prefix (`jobs show 30f87248`, as git takes commit ids): the
    exact id is asked first; only when it is not found are the jobs listed. An ambiguous prefix lists the
    candidates; no match re-raises the service's 404."""
    from services.client.errors import JobNotFoundError

    try:
        return await ws.get_job(job_id)
    except JobNotFoundError:
        matches = [job for job in await ws.list_jobs() if job.id.startswith(job_id)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise
    matches.sort(key=lambda j: (j.details.creation_time is not None, j.details.creation_time), reverse=True)
    lines = [f"  {j.id}  {_status(j):<9}  {render.local_time(j.details.creation_time)}  {j.details.name or ''}"
             for j in matches[:MAX_CANDIDATES_SHOWN]]
    more = len(matches) - MAX_CANDIDATES_SHOWN
    raise CliFailure(f"job id prefix {job_id!r} is ambiguous: {len(matches)} jobs match; give more of the id\n"
                     + "\n".join(lines) + (f"\n  … and {more} more" if more > 0 else ""))


# -- submit / solve --------------------------------------------------------------------------------------------

PROBLEM_ARG = typer.Argument(..., metavar="PROBLEM", show_default=False,
                             help="problem file: QIO JSON (.json, .json.gz), protobuf (.tar.gz), Gset, OR-Library "
                                  "bqp, qbsolv .qubo or dimod BQM JSON (see --format)")
TARGET_OPT = typer.Option("sa", "--target", "-t",
                          help="solver: sa, sa-pf, pt, pt-pf, tabu, tabu-pf, qmc, pa, pa-pf, ssmc, ssmc-pf, sbm, "
                               "1qbit-tabu, pr, pticm or a full id")
PARAM_OPT = typer.Option(None, "--param", "-p", metavar="NAME=VALUE",
                         help="solver parameter, repeatable: sweeps=1000, timeout=5, all_betas=[0.1,1]")
NAME_OPT = typer.Option(None, "--name", "-n", help="job name (default: the problem's name, else the file name)")


async def _submit(workspace: Any, problem: Path, target: str, params: list[str] | None, name: str | None,
                  fmt: str | None = None, instance: int | None = None) -> Any:
    from contracts import targets as ids
    from contracts.jobs import INPUT_FORMAT
    from services.client._job_base import ContentType
    from services.client.aio import Job

    target_id = resolve_target(target)
    checked = parse_params(params or [], target_id)
    body, decoded = await asyncio.to_thread(read_problem_file, problem, fmt, instance)
    job_name = name or decoded.name or problem.name.removesuffix(".gz").removesuffix(".json")
    return await Job.from_input_data(
        workspace, name=job_name, target=target_id, input_data=body, content_type=ContentType.json,
        blob_name="inputData", encoding="gzip", provider_id=ids.family_of(target_id).provider_id,
        input_data_format=INPUT_FORMAT, output_data_format=ids.family_of(target_id).output_format,
        input_params=ids.input_params_body(target_id, checked))


@app.command()
def submit(ctx: typer.Context, problem: Path = PROBLEM_ARG, target: str = TARGET_OPT,
           param: list[str] | None = PARAM_OPT, name: str | None = NAME_OPT,
           fmt: str | None = FORMAT_OPT, instance: int | None = INSTANCE_OPT) -> None:
    """Submit a problem; prints the job id (and nothing else, so `ID=$(openqio submit ...)` works)."""
    job = _run(_with(ctx, lambda ws: _submit(ws, problem, target, param, name, fmt, instance)))
    render.out.print(job.id)


async def _wait(job: Any, timeout: float | None) -> None:
    from contracts import targets as ids
    from contracts.errors import ContractError

    try:  # the job's time limit in seconds, whatever its target's parameters look like
        expected = ids.effective_timeout(job.details.target, ids.validate_params(job.details.target,
                                                                                 job.details.input_params))
    except ContractError:
        expected = None
    with render.ProgressView(job.id, expected_s=expected) as view:
        await job.wait_until_completed(timeout_secs=timeout, progress=view.on_event)


def _status(job: Any) -> str:
    return str(getattr(job.details.status, "value", job.details.status))


async def _finish(job: Any, as_json: bool) -> None:
    status = _status(job)
    if status != "Succeeded":
        error = job.details.error_data
        why = f": {error.code}: {error.message}" if error else ""
        raise CliFailure(f"job {job.id} {status}{why}")
    results = await job.get_results()
    if as_json:
        render.print_json(results)
    else:
        render.show_results(results, job.details)


@app.command()
def solve(ctx: typer.Context, problem: Path = PROBLEM_ARG, target: str = TARGET_OPT,
          param: list[str] | None = PARAM_OPT, name: str | None = NAME_OPT,
          fmt: str | None = FORMAT_OPT, instance: int | None = INSTANCE_OPT,
          as_json: bool = typer.Option(False, "--json", help="print the result document as JSON"),
          timeout: float | None = typer.Option(None, "--wait-timeout", metavar="SECONDS",
                                                  help="stop waiting after this long (the job keeps running)")) -> None:
    """Submit a problem, show live progress (elapsed, sweeps, best cost), then print the result."""
    async def action(ws: Any) -> None:
        job = await _submit(ws, problem, target, param, name, fmt, instance)
        render.err.print(f"submitted job [bold]{job.id}[/] to {job.details.target}")
        try:
            await _wait(job, timeout)
        except TimeoutError:
            raise CliFailure(f"job {job.id} has not finished after {timeout} s; it keeps running: "
                             f"`openqio results {job.id} --wait`") from None
        await _finish(job, as_json)

    try:
        _run(_with(ctx, action))
    except KeyboardInterrupt:
        _fail("interrupted; the job keeps running (`openqio jobs list`, `openqio jobs cancel ID`)", 130)


# -- results / jobs / targets ----------------------------------------------------------------------------------

ID_ARG = typer.Argument(..., metavar="ID", help="a job id, or a unique prefix of one (e.g. its first 8 characters)")


@app.command()
def results(ctx: typer.Context, job_id: str = ID_ARG,
            as_json: bool = typer.Option(False, "--json", help="print the result document as JSON"),
            wait: bool = typer.Option(False, "--wait", help="wait (with live progress) if the job is not finished")) -> None:
    """Print a finished job's result (pretty, or the raw document with --json)."""
    async def action(ws: Any) -> None:
        job = await _find_job(ws, job_id)
        if not job.has_completed():
            if not wait:
                raise CliFailure(f"job {job.id} is {_status(job)}; its result comes when it has finished "
                                 "(add --wait to wait for it)")
            await _wait(job, None)
        await _finish(job, as_json)

    _run(_with(ctx, action))


@jobs_app.command("list")
def jobs_list(ctx: typer.Context,
              status: str | None = typer.Option(None, "--status", "-s", help="only jobs in this status: "
                                                   + ", ".join(STATUSES)),
              name: str | None = typer.Option(None, "--name", "-n", help="only names matching this regex"),
              since: str | None = typer.Option(None, "--since", help="created since: 30m, 2h, 7d, today or a date"),
              limit: int = typer.Option(50, "--limit", min=1, help="show the newest N"),
              as_json: bool = typer.Option(False, "--json", help="print the jobs as a JSON array")) -> None:
    """List jobs, newest first."""
    async def action(ws: Any) -> None:
        wanted = None
        if status is not None:
            wanted = next((s for s in STATUSES if s.lower() == status.lower()), None)
            if wanted is None:
                raise UsageError(f"--status {status!r}: use one of {', '.join(STATUSES)}")
        if name is not None:
            try:
                re.compile(name)
            except re.error as exc:
                raise UsageError(f"--name {name!r} is not a valid regular expression ({exc})") from None
        created_after = parse_since(since) if since else None
        jobs = await ws.list_jobs(name_match=name, status=wanted, created_after=created_after)
        jobs.sort(key=lambda j: (j.details.creation_time is not None, j.details.creation_time), reverse=True)
        jobs = jobs[:limit]
        if as_json:
            render.print_json([j.details.to_wire() for j in jobs])
        elif not jobs:
            render.err.print("no jobs match")
        else:
            render.out.print(render.jobs_table(jobs))

    _run(_with(ctx, action))


@jobs_app.command("show")
def jobs_show(ctx: typer.Context, job_id: str = ID_ARG,
              as_json: bool = typer.Option(False, "--json", help="print the job details as JSON")) -> None:
    """Show one job: status, parameters, times, error, and its last progress report."""
    async def action(ws: Any) -> None:
        job = await _find_job(ws, job_id)
        if as_json:
            render.print_json(job.details.to_wire())
            return
        events = await ws.job_events(job.id)
        last = next((e.get("data") for e in reversed(events) if e.get("kind") == EventKind.PROGRESS), None)
        render.out.print(render.job_table(job.details, last))

    _run(_with(ctx, action))


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: str = ID_ARG) -> None:
    """Cancel a job: a waiting one at once, an executing one at its runner's next check."""
    from services.client.errors import ConflictError

    async def action(ws: Any) -> None:
        full_id = (await _find_job(ws, job_id)).id
        try:
            job = await ws.cancel_job(full_id)
        except ConflictError as exc:
            raise CliFailure(exc.message) from None
        if _status(job) == "Cancelled":
            render.out.print(f"job {full_id} cancelled")
        else:
            render.out.print(f"job {full_id}: cancel requested; it stops at its runner's next check")

    _run(_with(ctx, action))


@app.command()
def targets(ctx: typer.Context,
            as_json: bool = typer.Option(False, "--json", help="print the targets as JSON")) -> None:
    """List the solvers (targets) the service offers: short names, and each parameter's type, default and meaning."""
    from contracts import targets as ids

    from .params import short_name
    from .target_docs import parameter_free_note, parameter_rows

    async def action(ws: Any) -> None:
        statuses = await ws._get_target_status()
        rows = []
        for provider, status in statuses:
            known = status.id in ids.SCHEMAS
            row = {"short": short_name(status.id), "id": status.id, "provider": provider,
                   "availability": status.current_availability,
                   "parameters": sorted(ids.accepted_params(status.id)) if known else []}
            if known and status.id in ids.PARAMETER_FREE:
                row["accepts"] = parameter_free_note(status.id)
            elif known:
                row["parameter_details"] = parameter_rows(status.id)
            rows.append(row)
        if as_json:
            render.print_json(rows)
            return
        render.show_targets(rows)

    _run(_with(ctx, action))


@app.command()
def load(ctx: typer.Context,
         as_json: bool = typer.Option(False, "--json", help="print the service's answer as JSON")) -> None:
    """Show the service's load: whether it admits new jobs or answers 429, jobs waiting, runners busy, the queueing
    delay and the limits, and how many submissions it refused since it started (GET /dashboard/load)."""

    async def action(ws: Any) -> None:
        answer = await ws.service_load()
        render.print_json(answer) if as_json else render.show_load(answer)

    _run(_with(ctx, action))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `openqio` console script and `python -m services`; returns the exit code."""
    try:
        app(args=argv, prog_name="openqio")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
