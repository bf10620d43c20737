"""Long-lived processes (the service, its runners) leave what they loaded while starting out of the cyclic garbage
collector's walks.

A process that has imported its libraries holds ~10⁵ objects that live as long as it does (a runner: numba's
dispatchers and compiled modules; the service: aiohttp, the Azure SDK). A full collection walks them all, and one
comes whenever enough new objects have survived: in a runner, often while decoding a large JSON input (an object per
term); in the service, every few seconds under load, with the event loop stopped meanwhile. `freeze_heap` moves
everything alive into the permanent generation, so later full collections walk only what came after
(benchmarks/README.md, "Design measurements").

Not for the test process: a frozen object is never collected, so a leak frozen there would never be reported.
"""
from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Collect once, then leave every object alive now out of later collections (call once, after starting up)."""
    gc.collect()
    gc.freeze()
