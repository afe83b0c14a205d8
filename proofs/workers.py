"""Worker processes for the Z3 engines: forked where the platform can (the workers inherit the
loaded model and encodings), spawned elsewhere."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing

__all__ = ["process_pool"]

_METHODS = multiprocessing.get_all_start_methods()


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    ctx = multiprocessing.get_context("fork" if "fork" in _METHODS else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
