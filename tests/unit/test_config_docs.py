"""One configuration table, kept true: every OPENQIO_* variable the code reads or names (services/, solver_runner/,
docker/) is in services/config.py's table and in the README's, with the same default, and each table row is a
variable the code knows. Defaults in the table match the Settings dataclass where the default is a plain value."""
from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from services import config
from services.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "solver_runner", "docker")
NAME = re.compile(r"\bOPENQIO_[A-Z0-9_]*[A-Z0-9]\b")
# read outside the service by the client (connection file lookup), not a Settings field
CLIENT_SIDE = {"OPENQIO_CONNECTION"}


def code_names() -> dict[str, set[str]]:
    """Every OPENQIO_ name in the scanned code, with the files naming it; Settings fields count as read by
    services/config.py (from_env builds their names from the field names)."""
    found: dict[str, set[str]] = {}
    for folder in SCANNED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".sh", ".yaml", ".yml", ".js", "") and "__pycache__" not in path.parts:
                for name in NAME.findall(path.read_text(errors="replace")):
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for f in fields(Settings):
        found.setdefault(f"OPENQIO_{f.name.upper()}", set()).add("services/config.py (Settings field)")
    return found


def table_rows(markdown: str, heading: str | None = None) -> dict[str, tuple[str, str]]:
    """variable -> (default, meaning) from the first markdown table (after `heading`, if given)."""
    if heading is not None:
        start = markdown.index(heading)
        markdown = markdown[start:]
    rows: dict[str, tuple[str, str]] = {}
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and NAME.fullmatch(cells[0].strip("`")):
                name = cells[0].strip("`")
                assert name not in rows, f"{name} appears twice in one table"
                rows[name] = (cells[1].strip("`").strip(), cells[2])
            in_table = True
        elif in_table:
            break
    return rows


def config_table() -> dict[str, tuple[str, str]]:
    return table_rows(config.__doc__ or "")


def readme_table() -> dict[str, tuple[str, str]]:
    return table_rows((ROOT / "README.md").read_text(), "## Configuration")


def test_tables_parse():
    assert len(config_table()) >= 20 and len(readme_table()) >= 20


def test_every_variable_in_the_code_is_in_both_tables():
    documented_config, documented_readme = set(config_table()), set(readme_table())
    missing = {name: sorted(files) for name, files in code_names().items()
               if name not in documented_config or name not in documented_readme}
    assert not missing, f"OPENQIO_ variables missing from services/config.py's or the README's table: {missing}"


def test_every_documented_variable_exists_in_the_code():
    names = code_names()
    for table, where in ((config_table(), "services/config.py"), (readme_table(), "README.md")):
        stale = sorted(set(table) - set(names))
        assert not stale, f"{where} documents variables nothing reads: {stale}"
    settings = {f"OPENQIO_{f.name.upper()}" for f in fields(Settings)}
    assert set(config_table()) - settings <= CLIENT_SIDE


def test_both_tables_give_the_same_defaults():
    ours, readme = config_table(), readme_table()
    differ = {name: (ours[name][0], readme[name][0]) for name in ours if name in readme and
              _norm(ours[name][0]) != _norm(readme[name][0])}
    assert not differ, f"defaults differ (config.py, README): {differ}"


def _norm(text: str) -> str:
    return re.sub(r"[\s`()]", "", text).lower()


def _plain_default(f) -> object:
    if f.default is not MISSING:
        return f.default
    return MISSING  # a factory (runners: the number of cores, tokens: generated): described in words


@pytest.mark.parametrize("field", [f for f in fields(Settings) if _plain_default(f) is not MISSING],
                         ids=lambda f: f.name)
def test_table_defaults_match_the_code(field):
    name = f"OPENQIO_{field.name.upper()}"
    documented = config_table()[name][0]
    value = field.default
    if name == "OPENQIO_STORAGE_KEY":
        assert value == config.AZURITE_KEY and "Azurite" in documented
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        assert float(documented) == float(value), f"{name}: table says {documented}, code says {value}"
    elif value == "":
        assert documented == "(none)", f"{name}: an unset text setting is documented as (none)"
    else:
        assert documented == str(value), f"{name}: table says {documented!r}, code says {value!r}"
    # and the value is what from_env gives when the variable is unset
    assert getattr(Settings.from_env({}, tokens={"t" * 16: "openqio"}), field.name) == value
