"""The dashboard's static side: the page's short target names are the command line's."""
from __future__ import annotations

import re

from services.cli.params import SHORT_NAMES
from services.gateway import dashboard


def test_the_pages_short_target_names_are_the_clis():
    source = (dashboard.STATIC / "app.js").read_text()
    block = re.search(r"const SHORT_TARGETS = \{(.*?)\};", source, re.S).group(1)
    page = dict(re.findall(r"(\w+): \"([\w-]+)\"", block))
    shown = {}
    for base, short in page.items():
        shown[f"microsoft.{base}.cpu"] = short
        shown[f"microsoft.{base}-parameterfree.cpu"] = f"{short}-pf"
    catalog = re.search(r"const CATALOG_TARGETS = \{(.*?)\};", source, re.S).group(1)
    shown.update(re.findall(r"\"([\w.]+)\": \"([\w-]+)\"", catalog))
    assert {target: short for short, target in SHORT_NAMES.items()}.items() <= shown.items()
    assert len(page) + len(re.findall(r":", catalog)) == len({short.removesuffix("-pf") for short in SHORT_NAMES})


def test_every_module_the_page_imports_is_served():
    for name in ("app.js", "api.js", "plot.js", "result.js"):
        for imported in re.findall(r'from "\./([\w.]+)"', (dashboard.STATIC / name).read_text()):
            assert f"/dashboard/{imported}" in dashboard.ASSETS, imported
