"""The garbage collector around start-up (``ailoop serve`` switches it off until initialize)."""

from __future__ import annotations

import gc

from ailoop.lsp.lifecycle import end_of_start_up


def test_end_of_start_up_switches_the_collector_on_without_the_objects_made_so_far() -> None:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        kept = [[index] for index in range(1000)]
        end_of_start_up()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(kept)
        collected_over = {id(item) for item in gc.get_objects()}  # not the frozen ones
        assert not any(id(item) in collected_over for item in kept)
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()
