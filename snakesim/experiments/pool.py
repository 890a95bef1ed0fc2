"""Run sweep points: one point with its failure recorded, and many on local processes or Ray.

A point that raises does not stop a sweep: its folder gets ``failed.json`` (the point
and a one-line error) and, for an exception that is not a `SnakesimError` (a bug),
``traceback.txt`` with the full traceback.

A worker process that dies (the out-of-memory killer, a crash in native code) breaks a
`ProcessPoolExecutor`: every point in flight on it fails with `BrokenProcessPool`,
whichever of them killed it. Those points are then run again one at a time, in a
pool of one worker, so that a second death names the point that caused it: that
point is marked failed ("worker process died") and the sweep goes on without losing a
sibling.
"""

from __future__ import annotations

import json
import multiprocessing
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import torch

from snakesim.config.loading import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.config.sweep import SweepPoint
from snakesim.errors import MissingDependencyError, SnakesimError
from snakesim.experiments.execution import resolve_device
from snakesim.experiments.placement import GpuSlots, on_gpu, share, visible_gpus, wants_gpu
from snakesim.experiments.run import run_scenario
from snakesim.experiments.store import atomic_write, write_run

FAILED = "failed.json"
"""The file a point's folder gets when the point could not run."""
TRACEBACK = "traceback.txt"
"""The full traceback of a point that failed with an unexpected exception."""
WORKER_DIED = ("worker process died twice running this point (killed by a signal, e.g. "
               "the out-of-memory killer); give it more memory or run it alone")

Job = tuple[SweepPoint, Path]
"""A point and the folder it runs in."""
Settle = Callable[[SweepPoint, "str | None"], None]
"""Called in the main process once per point: ``(point, error or None)``."""


def run_point(scenario: Scenario | dict[str, Any], out: Path, threads: int = 1,
              gpu_share: float | None = None) -> dict[str, Any]:
    """Run one point into ``out`` and return its summary (used in worker processes).

    Workers get the scenario as plain data and validate it again: parametrised pydantic
    models (the node distributions) cannot be pickled. ``gpu_share`` caps this process's
    PyTorch allocator on the point's CUDA device at that fraction of its memory (runs
    sharing a GPU; `snakesim.experiments.placement`).
    """
    torch.set_num_threads(threads)
    if not isinstance(scenario, Scenario):
        scenario = validate_scenario(scenario)
    device = resolve_device(scenario.execution.device)
    if gpu_share is not None and device.type == "cuda":
        torch.cuda.set_per_process_memory_fraction(gpu_share, device)
    result = run_scenario(scenario)
    write_run(out, scenario, result.summary, result.frames)
    return result.summary


def attempt_point(scenario: Scenario | dict[str, Any], out: Path, threads: int = 1,
                  gpu_share: float | None = None) -> str | None:
    """Run one point; on any exception write ``out/failed.json`` and return the error.

    Returns None when the point finished. Runs in worker processes too: the error comes
    back as text, so every backend sees the same thing. Ctrl-C (not an `Exception`)
    still stops the sweep.
    """
    for stale in (FAILED, TRACEBACK):
        (out / stale).unlink(missing_ok=True)
    try:
        run_point(scenario, out, threads, gpu_share)
    except SnakesimError as error:
        return record_failure(out, one_line(error))
    except Exception as error:  # a bug: keep the traceback for the report
        trace = _save_traceback(out, error)
        return record_failure(out, f"{type(error).__name__}: {one_line(error)}", trace)
    return None


def one_line(error: BaseException) -> str:
    """The error's message on one line (its type name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def record_failure(out: Path, message: str, trace: Path | None = None) -> str:
    """Write ``out/failed.json`` with ``message`` (best effort) and return ``message``.

    A full disk must not turn one failed point into a stopped sweep: if the file cannot
    be written, the point simply has no result, which `sweep_failures` reports too.
    """
    record: dict[str, str] = {"point": out.name, "error": message}
    if trace is not None:
        record["traceback"] = str(trace)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / FAILED, json.dumps(record))
    except OSError:
        pass
    return message


def _save_traceback(out: Path, error: Exception) -> Path | None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / TRACEBACK, "".join(traceback.format_exception(error)))
    except OSError:
        return None
    return out / TRACEBACK


def run_local(jobs: list[Job], workers: int, settle: Settle,
              finished: Callable[[Job], bool]) -> None:
    """Run ``jobs`` on ``workers`` spawned processes, surviving workers that die.

    Parameters
    ----------
    jobs
        The points to run, each with its folder.
    workers
        Processes running at once.
    settle
        Called once per point as it ends (finished or failed).
    finished
        Whether a job's folder holds its result (checked before a retry: a point may
        have written it just before its pool broke).
    """
    queue = deque(jobs)
    while queue:
        suspects = deque(_run_pool(queue, workers, settle))
        for job in list(suspects):
            if finished(job):
                suspects.remove(job)
                settle(job[0], None)
        # One worker at a time: a pool that breaks now was killed by the one job in it.
        while suspects:
            for job in _run_pool(suspects, 1, settle):
                settle(job[0], record_failure(job[1], WORKER_DIED))


def _run_pool(queue: deque[Job], workers: int, settle: Settle) -> list[Job]:
    """Run jobs from ``queue`` until it is empty or the pool breaks; return the jobs
    that were in flight when it broke (none if it did not)."""
    # 'spawn' gives each worker a clean interpreter: no forked torch thread pools.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: dict[Future[str | None], Job] = {}
    gpus = visible_gpus()
    slots = GpuSlots(gpus) if gpus else None
    held: dict[Future[str | None], int] = {}  # the GPU each running point holds
    try:
        while queue or pending:
            # At most one job per worker is submitted, so "in flight" is exactly
            # `pending` when the pool breaks.
            while queue and len(pending) < workers:
                job = queue.popleft()
                data, gpu = plain(job[0].scenario), None
                if slots is not None and wants_gpu(data):
                    gpu = slots.acquire()
                    data = on_gpu(data, gpu)
                future = pool.submit(attempt_point, data, job[1], 1,
                                     None if gpu is None else share(workers, gpus))
                pending[future] = job
                if gpu is not None:
                    held[future] = gpu
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = []
            for future in done:
                job = pending.pop(future)
                if slots is not None and future in held:
                    slots.release(held.pop(future))
                if not _settled(future, job, settle):
                    broken.append(job)
            if broken:
                return [*broken, *pending.values()]
        return []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _settled(future: Future[str | None], job: Job, settle: Settle) -> bool:
    """Settle a finished future's point; False if its pool broke under it."""
    try:
        outcome = future.result()
    except BrokenProcessPool:
        return False
    except Exception as error:  # e.g. the result could not be sent back
        outcome = record_failure(job[1], f"{type(error).__name__}: {one_line(error)}")
    settle(job[0], outcome)
    return True


def run_ray(jobs: list[Job], cpus: int, address: str | None, settle: Settle) -> None:
    """Run ``jobs`` on a Ray cluster (``address``) or a local Ray instance of ``cpus``."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "--backend ray") from None
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        # Ray retries a task whose worker died; one retry, as with the local pool.
        remote = ray.remote(num_cpus=1, max_retries=1)(attempt_point)
        # A point that leaves its GPU to the sweep asks Ray for one, which Ray makes the
        # only visible one (its ``cuda``); without GPUs in the cluster it runs on a CPU.
        gpu = {"num_gpus": 1} if ray.cluster_resources().get(  # type: ignore[no-untyped-call]
            "GPU", 0) else {}
        # Paths are absolute so that workers on other hosts of a shared file system
        # write where this process will look.
        pending = {}
        for point, folder in jobs:
            data = plain(point.scenario)
            options = gpu if wants_gpu(data) else {}
            pending[remote.options(**options).remote(data, folder.resolve())] = (point, folder)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                point, folder = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as error:  # the worker or its node died
                    outcome = record_failure(folder, f"worker failed: {type(error).__name__}"
                                                     f": {one_line(error)}"[:500])
                settle(point, outcome)
    finally:
        if started:
            ray.shutdown()


def plain(scenario: Scenario) -> dict[str, Any]:
    """A scenario as plain data, for another process."""
    data: dict[str, Any] = scenario.model_dump(mode="json")
    return data
