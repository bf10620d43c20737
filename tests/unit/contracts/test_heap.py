"""contracts.heap.freeze_heap: what is alive when it is called is left out of the collector's later walks."""
from __future__ import annotations

import gc

from contracts.heap import freeze_heap


def test_freezing_the_heap_leaves_what_was_alive_out_of_the_collectors_walks():
    before = len(gc.get_objects())
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= before // 2
        assert len(gc.get_objects()) < before // 10  # what a full collection walks now
    finally:
        gc.unfreeze()  # this test process must keep collecting (and reporting) everything
