"""How the command line shows things: job tables, details, results, and the live progress of a running job.

Everything decorative goes to stderr (`err`); stdout (`out`) carries only what scripts read: job ids, tables, and
`--json` documents. On a terminal the progress is a live rich bar; elsewhere (CI logs, pipes) it is one plain
line per event, so logs show the same facts.
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.events import TERMINAL_KINDS, EventKind
from contracts.results import best_of
from services.disks import Disk

from .params import short_name


def _pipe_width() -> int | None:
    """A terminal keeps its own width; a pipe or file gets wide lines (rich would assume 80 and squeeze tables)."""
    if sys.stdout.isatty():
        return None
    try:
        return max(int(os.environ.get("COLUMNS", "0")), 160)
    except ValueError:
        return 160


out = Console(highlight=False, soft_wrap=False, width=_pipe_width())
err = Console(stderr=True, highlight=False)

STATUS_STYLE = {"Waiting": "yellow", "Executing": "cyan", "Succeeded": "green", "Failed": "red", "Cancelled": "magenta"}
MAX_CONFIGURATION_SHOWN = 40


def status_text(status: Any) -> str:
    value = getattr(status, "value", status) or "?"
    return f"[{STATUS_STYLE.get(value, 'white')}]{value}[/]"


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(details: Any) -> str:
    begin, end = details.begin_execution_time, details.end_execution_time
    if begin is None:
        return "-"
    if end is None:
        end = datetime.now(UTC).replace(tzinfo=begin.tzinfo)
    return f"{(end - begin).total_seconds():.1f} s"


def target_label(target: str | None) -> str:
    short = short_name(target or "")
    return short or (target or "-")


def jobs_table(jobs: list[Any]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    table.add_column("ID", no_wrap=True, min_width=36)  # ids are copied into other commands: never cut them
    for column in ("Name", "Target", "Status", "Created", "Run time"):
        table.add_column(column, no_wrap=column in ("Status", "Created"))
    for job in jobs:
        d = job.details
        table.add_row(d.id, d.name or "", target_label(d.target), status_text(d.status), local_time(d.creation_time),
                      duration(d))
    return table


def job_table(details: Any, last_progress: dict[str, Any] | None) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    params = (details.input_params or {}).get("params") if isinstance(details.input_params, dict) else None
    rows = [
        ("id", details.id),
        ("name", details.name or ""),
        ("target", f"{details.target} ({target_label(details.target)})"),
        ("status", status_text(details.status) + (" (cancelling)" if details.additional_properties.get("isCancelling")
                                                  else "")),
        ("parameters", json.dumps(params or {})),
        ("created", local_time(details.creation_time)),
        ("started", local_time(details.begin_execution_time)),
        ("ended", local_time(details.end_execution_time)),
        ("run time", duration(details)),
    ]
    if details.cancellation_time:
        rows.append(("cancelled", local_time(details.cancellation_time)))
    if details.error_data:
        rows.append(("error", f"[red]{details.error_data.code}: {details.error_data.message}[/]"))
    if details.tags:
        rows.append(("tags", ", ".join(details.tags)))
    if last_progress:
        rows.append(("last progress", progress_line(last_progress)))
    for key, value in rows:
        table.add_row(key, value)
    return table


def progress_line(data: dict[str, Any]) -> str:
    return (f"{float(data.get('elapsed_s') or 0):.1f} s, {int(data.get('sweeps_done') or 0):,} sweeps, "
            f"best cost {format_cost(data.get('best_cost'))}")


def format_cost(cost: Any) -> str:
    if cost is None:
        return "-"
    value = float(cost)
    return f"{int(value)}" if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"


def show_results(results: Any, details: Any) -> None:
    if not isinstance(results, dict):
        out.print(results)
        return
    cost, configuration = best_of(results)  # Microsoft's, Toshiba's or 1QBit's result format
    out.print(f"[bold]cost[/] {format_cost(cost)}   [bold]target[/] {target_label(details.target)}"
              f"   [bold]job[/] {details.id}")
    solutions = results.get("solutions") or [{}]
    parameters = results.get("parameters") or results.get("input_params") or solutions[0].get("parameters")
    if parameters:
        out.print(f"[bold]parameters[/] {json.dumps(parameters)}")
    items = sorted(configuration.items(), key=lambda kv: int(kv[0]) if str(kv[0]).lstrip("-").isdigit() else 0)
    shown = " ".join(f"{k}={v:+d}" if isinstance(v, int) else f"{k}={v}" for k, v in items[:MAX_CONFIGURATION_SHOWN])
    more = len(items) - MAX_CONFIGURATION_SHOWN
    out.print(f"[bold]configuration[/] ({len(items)} variables) {shown}" + (f" … {more} more (--json shows all)"
                                                                          if more > 0 else ""))
    solutions = results.get("solutions") or []
    if len(solutions) > 1:
        out.print(f"[bold]solutions[/] {len(solutions)}, costs " + ", ".join(format_cost(s.get("cost")) for s in solutions))


TARGET_COLUMNS = (("name", "Parameter", 24), ("type", "Type", 24), ("default", "Default", 26))


def show_targets(rows: list[dict[str, Any]]) -> None:
    """Per target a title `short = id`, then a table of its parameters' type, default and meaning, or (parameter-free
    targets) one line saying what it accepts. The tables share their column widths, so they read as one."""
    details = [d for row in rows for d in row.get("parameter_details", [])]
    widths = {key: min(cap, max([len(d[key]) for d in details] + [len(header)])) for key, header, cap in TARGET_COLUMNS}
    roomy = out.width >= sum(widths.values()) + 13 + 40  # fixed widths (13: borders and padding) leave Meaning 40
    for row in rows:
        title = f"[bold]{row['short'] or row['id']}[/] = {row['id']}"
        if row["availability"] != "Available":
            title += f" ({row['availability']})"
        if "accepts" in row:
            out.print(title)
            out.print(Padding(row["accepts"], (0, 0, 1, 2)))
            continue
        table = Table(title=title, title_justify="left", header_style="bold", expand=roomy)
        for key, header, _ in TARGET_COLUMNS:
            table.add_column(header, width=widths[key] if roomy else None, overflow="fold")
        table.add_column("Meaning", ratio=1 if roomy else None)
        for d in row.get("parameter_details", []):
            table.add_row(d["name"], d["type"], d["default"], d["meaning"])
        out.print(table)


def show_load(load: dict[str, Any]) -> None:
    """`openqio load`: what admission control sees (GET /dashboard/load), one fact a row."""
    limits = load.get("limits") or {}
    limit = [f"{limits['maxWaiting']} waiting" if limits.get("maxWaiting") else "",
             f"{limits['maxQueueDelaySeconds']:g} s of queueing" if limits.get("maxQueueDelaySeconds") else ""]
    runners = load.get("runners")
    pace = load.get("pacePerSecond")
    if not pace:
        pace_text = "not known yet"
    elif load.get("paceMeasured"):
        pace_text = f"{pace:g} jobs a second while jobs wait"
    else:
        pace_text = f"about {pace:g} jobs a second (estimated: the runners not busy lately)"
    admitted = "admitted" if load["admitting"] else "[yellow]refused (429, Retry-After): at capacity[/]"
    if load.get("diskFullSeconds") is not None:
        admitted = f"[red]refused (507): the job database's disk has been full for {load['diskFullSeconds']} s[/]"
    rows = [
        ("new jobs", admitted),
        ("waiting", str(load["waiting"])),
        ("being submitted", f"{load['beingSubmitted']} (admitted at sasUri, not PUT yet)"),
        ("promised places", f"{load['promised']} (to refused clients told to come back)"),
        ("runners busy", f"{runners['busy']} of {runners['total']}" if runners else "?"),
        ("pace", pace_text),
        ("queueing delay", f"{load['queueingDelaySeconds']:.2f} s (what a new job would wait, as the limit judges)"),
        ("upload time", f"{load.get('uploadSeconds', 0):.2f} s (sasUri to PUT, recent submissions; taken off the delay)"),
        ("limit", " or ".join(filter(None, limit)) or "none"),
        ("refused", f"{load['refusedSinceStart']} since the service started"),
    ]
    blob_full = load.get("blobDiskFull")  # (absent from an older service's answer)
    if blob_full:
        rows.insert(1, ("blob storage", f"[red]its disk has been full for {blob_full['seconds']} s: "
                                        f"{blob_full['resultsWaiting']} finished job(s) wait to store their results, "
                                        "and new inputs may not fit[/]"))
    for disk in load.get("disks") or []:  # (absent from an older service's answer)
        room = Disk(tuple(disk["holds"]), disk["freeBytes"], disk["totalBytes"]).describe()
        rows.append(("disk", f"[yellow]{room}: running low[/]" if disk["low"] else room))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)


def print_json(document: Any) -> None:
    out.print_json(json.dumps(document, default=str)) if out.is_terminal else print(json.dumps(document, default=str))


class ProgressView:
    """Shows a job's events: a live bar (status, elapsed, sweeps, best cost) on a terminal, else plain lines.

    Use as a context manager and pass `on_event` as the `progress=` callback of wait_until_completed."""

    _STATUS = {EventKind.SUBMITTED: "Waiting", EventKind.STARTED: "Executing",
               EventKind.REQUEUED: "Waiting (requeued)", EventKind.CANCEL_REQUESTED: "Cancelling",
               EventKind.SUCCEEDED: "Succeeded", EventKind.FAILED: "Failed", EventKind.CANCELLED: "Cancelled"}

    def __init__(self, job_id: str, console: Console = err, expected_s: float | None = None):
        self.job_id = job_id
        self.expected_s = expected_s  # the job's `timeout`: the bar then fills with the solver's elapsed time
        self.console = console
        self.live = console.is_terminal
        self.last: dict[str, Any] = {}
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> ProgressView:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.fields[status]}"),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("sweeps [cyan]{task.fields[sweeps]}"),
                TextColumn("best cost [green]{task.fields[best]}"),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.job_id, total=None, status="Waiting", sweeps="-", best="-")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_event(self, event: Any) -> None:
        status = self._STATUS.get(event.kind)
        if event.kind == EventKind.PROGRESS:
            self.last = dict(event.data)
            sweeps = f"{int(event.data.get('sweeps_done') or 0):,}"
            best = format_cost(event.data.get("best_cost"))
            if self._progress is not None:
                extra: dict[str, Any] = {}
                if self.expected_s:
                    extra = {"total": self.expected_s,
                             "completed": min(float(event.data.get("elapsed_s") or 0), self.expected_s)}
                self._progress.update(self._task, sweeps=sweeps, best=best, **extra)
            else:
                self.console.print(f"progress: {progress_line(event.data)}")
            return
        if status is None:
            return
        if self._progress is not None:
            finished = event.kind in TERMINAL_KINDS
            total = self._progress.tasks[0].total or 1
            ends: dict[str, Any] = {"total": total, "completed": total} if finished else {}
            self._progress.update(self._task, status=status, **ends)
        else:
            self.console.print(f"job {self.job_id}: {status}")
