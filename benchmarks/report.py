"""One results table for the whole benchmark run: rows are dicts over a fixed column set, printed aligned and
written as JSON. Empty cells mean "not applicable to this row"."""
from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (key, header, format) — format is applied to numbers; strings are printed as they are.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("section", "sec", "{}"),
    ("instance", "instance", "{}"),
    ("solver", "solver", "{}"),
    ("ns_per_op", "ns/op", "{:.1f}"),
    ("algo_ns_per_op", "algo ns/op", "{:.1f}"),
    ("dwave_over_ours", "dwave/ours", "{:.2f}"),
    ("openjij_over_ours", "openjij/ours", "{:.2f}"),
    ("energy_per_n", "E/N med", "{:.4f}"),
    ("cost", "best cost", "{:.6g}"),
    ("reference", "reference", "{}"),
    ("residual_pct", "resid %", "{:.3f}"),
    ("seconds", "time s", "{:.2f}"),
    ("note", "note", "{}"),
)


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt.format(value)
    return str(value)


@dataclass
class Table:
    rows: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    columns: tuple[tuple[str, str, str], ...] = COLUMNS  # another benchmark's own (key, header, format) set

    def add(self, **row: Any) -> dict[str, Any]:
        unknown = set(row) - {k for k, _, _ in self.columns}
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}")
        self.rows.append(row)
        return row

    def render(self) -> str:
        columns = self.columns
        cells = [[h for _, h, _ in columns]] + [[_cell(r.get(k), f) for k, _, f in columns] for r in self.rows]
        widths = [max(len(row[c]) for row in cells) for c in range(len(columns))]
        numeric = {k for k, _, f in columns if f != "{}"}

        def line(row: list[str]) -> str:
            parts = []
            for c, (key, _, _) in enumerate(columns):
                parts.append(row[c].rjust(widths[c]) if key in numeric else row[c].ljust(widths[c]))
            return "| " + " | ".join(parts) + " |"

        out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in cells[1:]]
        return "\n".join(out)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = [{"key": k, "header": h} for k, h, _ in self.columns]
        path.write_text(json.dumps({"meta": self.meta, "columns": columns, "rows": self.rows}, indent=1,
                                   default=_plain))


def _plain(value: Any) -> Any:
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)


def loadavg() -> str:
    """The machine's 1/5/15-minute load averages, "a/b/c" ("n/a" where the OS has none)."""
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine(libraries: dict[str, str]) -> dict:
    """CPU model, cores, Python / numpy / numba versions, and the given library versions."""
    import numba
    import numpy as np
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, **libraries}
