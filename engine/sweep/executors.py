"""Where a sweep's runs execute. Each executor turns jobs into outcomes, in the order they
finish:

    local               in this process, one run after another (the default)
    processes:N         N worker processes on this machine (concurrent.futures)
    dask://HOST:PORT    an existing Dask distributed scheduler, via Client.get_executor()
    dask-local[:N]      a Dask LocalCluster started here: N worker processes (default 2),
                        one thread each, listening on the loopback interface only

Runs are deterministic, so every executor gives the same numbers for the same sweep. With
``dask://`` the workers must see the scenario and the output folder at the same paths (one
machine, or a shared file system): each run writes its own folder.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from engine.errors import TracegradError
from engine.i18n import _
from engine.sweep.runs import RunJob, RunOutcome, run_one

DASK_MISSING = "pip install 'tracegrad[dask]'"
HINT = "one of: local, processes:N, dask://HOST:PORT, dask-local, dask-local:N"


@dataclass(frozen=True)
class ExecutorChoice:
    """A parsed ``--executor`` value."""

    kind: str  # local | processes | dask | dask-local
    workers: int = 1
    address: str | None = None

    def describe(self) -> str:
        if self.kind == "processes":
            return f"{self.workers} processes"
        if self.kind == "dask":
            return f"Dask scheduler {self.address}"
        if self.kind == "dask-local":
            return f"Dask LocalCluster ({self.workers} workers)"
        return "this process"


def parse_executor(text: str) -> ExecutorChoice:
    text = text.strip()
    if text == "local":
        return ExecutorChoice("local")
    if text.startswith("dask://"):
        address = text.removeprefix("dask://")
        if "://" not in address:  # tcp unless a protocol is given (dask://tls://HOST:PORT)
            address = "tcp://" + address
        host, _colon, port = address.split("://", 1)[1].rpartition(":")
        if not host or not port.isdigit():
            raise TracegradError(
                _("executor '{text}': expected dask://HOST:PORT").format(text=text),
                hint=_("e.g. dask://127.0.0.1:8786"),
            )
        return ExecutorChoice("dask", address=address)
    for kind, default in (("processes", os.cpu_count() or 1), ("dask-local", 2)):
        if text == kind:
            return ExecutorChoice(kind, default)
        if text.startswith(kind + ":"):
            count = text.removeprefix(kind + ":")
            if not count.isdigit() or int(count) < 1:
                raise TracegradError(
                    _(
                        "executor '{text}': the number of workers must be a whole number >= 1"
                    ).format(text=text),
                    hint=_("e.g. {kind}:2").format(kind=kind),
                )
            return ExecutorChoice(kind, int(count))
    raise TracegradError(_("unknown executor '{text}'").format(text=text), hint=HINT)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise TracegradError(
            _("the dask executors need Dask, which is not installed"),
            hint=_("install the optional extra: {DASK_MISSING}").format(DASK_MISSING=DASK_MISSING),
        ) from None
    return distributed


@contextlib.contextmanager
def _dask_client(choice: ExecutorChoice):
    distributed = _distributed()
    if choice.kind == "dask-local":
        cluster = distributed.LocalCluster(
            n_workers=choice.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # a free port, on loopback too
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(choice.address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise TracegradError(
            _("cannot reach the Dask scheduler at {address}: {error}").format(
                address=choice.address, error=error
            ),
            hint=_(
                "start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                "or use --executor dask-local"
            ),
        ) from None
    with client:
        yield client


@contextlib.contextmanager
def _pool(choice: ExecutorChoice):
    """A concurrent.futures executor for ``choice`` (None for local)."""
    if choice.kind == "local":
        yield None
    elif choice.kind == "processes":
        # fresh interpreters: forking a process that may hold threads (a Dask client, BLAS)
        # can deadlock; each worker imports engine, which keeps BLAS to one thread
        context = multiprocessing.get_context("spawn")
        stopping = context.Event()
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=choice.workers,
            mp_context=context,
            initializer=_quiet_worker,
            initargs=(stopping,),
        )
        pool.stopping = stopping
        try:
            yield pool
        except BaseException:  # Ctrl-C or SIGTERM: stop the workers' runs, never wait long
            _stop_workers(pool, stopping)
            raise
        else:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        with _dask_client(choice) as client:
            pool = client.get_executor(pure=False)  # each run once, never cached by key
            try:
                yield pool
            finally:
                pool.shutdown(wait=False)


#: Seconds the workers get to end their runs (between two steps) after an interrupt.
STOP_GRACE = 10.0


#: Set in a worker process when the sweep is stopping: it starts no further run.
_stopping = None


def _quiet_worker(stopping) -> None:
    """A worker ignores Ctrl-C while idle (the parent decides); a run it executes still
    stops between two steps on SIGINT (``engine.interrupt`` handles it during a run)."""
    global _stopping
    _stopping = stopping
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_in_worker(job: RunJob) -> RunOutcome:
    """``run_one`` in a worker process, unless the sweep is stopping (a run already queued
    to this worker when Ctrl-C came is not started)."""
    if _stopping is not None and _stopping.is_set():
        return RunOutcome(
            job.run_id, job.config_id, job.seed, job.run_seed, "interrupted", "not started"
        )
    return run_one(job)


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor, stopping) -> None:
    """Cancel what is queued, ask every worker's run to stop (SIGINT: status interrupted,
    its trace closed), then end the workers; one that does not stop in time is killed."""
    stopping.set()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.kill(process.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join(1.0)


@contextlib.contextmanager
def open_executor(text: str) -> Iterator:
    """``with open_executor("processes:2") as execute: for outcome in execute(jobs): ...``"""
    choice = parse_executor(text)
    with _pool(choice) as pool:
        if pool is None:
            yield _run_here
        else:
            yield lambda jobs: _run_pool(pool, jobs)


def _run_here(jobs: Iterable[RunJob]) -> Iterator[RunOutcome]:
    for job in jobs:
        yield run_one(job)


def _run_pool(pool: concurrent.futures.Executor, jobs: Iterable[RunJob]) -> Iterator[RunOutcome]:
    function = run_in_worker if hasattr(pool, "stopping") else run_one
    futures = {pool.submit(function, job): job for job in jobs}
    try:
        for future in concurrent.futures.as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - e.g. a worker process that died
                yield RunOutcome(
                    job.run_id,
                    job.config_id,
                    job.seed,
                    job.run_seed,
                    "failed",
                    f"the worker running it failed: {type(error).__name__}: {error}",
                )
    finally:
        for future in futures:
            future.cancel()
