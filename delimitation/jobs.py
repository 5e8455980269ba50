"""Proposal runs as durable background jobs on PostgreSQL (procrastinate).

The queue lives in the same database (schema `procrastinate_*`, applied by `migrate` through
`procrastinate.contrib.django` in INSTALLED_APPS), so a job survives a restart of the web
process and any number of workers may take jobs concurrently (row locks, no double runs).

Who runs the worker: the web process starts one embedded worker thread at startup
(`EmbeddedWorker`, disabled with DM_PROPOSAL_WORKER=0), so `make run` needs nothing else;
deployments with several web processes may instead run dedicated `distritos worker`
processes. Progress is written to the run row (`delimitation_proposalrun.progress`), which
`GET /api/v1/proposals/runs/{id}` and `distritos propose` poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import psycopg
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued

from delimitation import engine

QUEUE = "proposals"
TASK = "delimitation:run_proposal"
PRECOMPUTE_TASK = "delimitation:precompute_figures"
logger = logging.getLogger(__name__)


def run_proposal(context: JobContext, run_id: int) -> None:
    """Execute a queued proposal run with the worker's database and raster folder."""
    extra = context.additional_context
    data_dir = Path(extra["data_dir"]) if extra.get("data_dir") else None
    with psycopg.connect(extra["database_url"], autocommit=True) as conn:
        engine.execute_run(conn, run_id, data_dir=data_dir)


def precompute_figures(context: JobContext) -> None:
    """Bring the per-unit figures cache up to date (queued after an import of a source layer)."""
    extra = context.additional_context
    data_dir = Path(extra["data_dir"]) if extra.get("data_dir") else None
    with psycopg.connect(extra["database_url"], autocommit=True) as conn:
        engine.precompute_unit_figures(conn, data_dir)


def make_app(database_url: str) -> App:
    """A procrastinate App on this database with the proposal tasks registered."""
    app = App(connector=PsycopgConnector(conninfo=database_url))
    # Registered per App (a shared Blueprint is renamed by every App it is added to).
    app.task(name=TASK, queue=QUEUE, pass_context=True)(run_proposal)
    app.task(name=PRECOMPUTE_TASK, queue=QUEUE, pass_context=True)(precompute_figures)
    return app


def enqueue_precompute(database_url: str) -> int | None:
    """Queue a refresh of the per-unit figures; None when one is already waiting (it will see
    this change too, so a burst of imports costs one refresh)."""
    with make_app(database_url).open() as app:
        try:
            return app.configure_task(
                PRECOMPUTE_TASK, queue=QUEUE, queueing_lock=PRECOMPUTE_TASK
            ).defer()
        except AlreadyEnqueued:
            return None


def enqueue(database_url: str, conn: psycopg.Connection, run_id: int) -> int:
    """Queue a stored run; records and returns the job id."""
    with make_app(database_url).open() as app:
        job_id = app.configure_task(TASK, queue=QUEUE).defer(run_id=run_id)
    conn.execute(
        "UPDATE delimitation_proposalrun SET job_id = %s, message = %s WHERE id = %s",
        [job_id, "En cola", run_id],
    )
    return job_id


def job_status(conn: psycopg.Connection, job_id: int | None) -> str | None:
    """The queue's view of a job (todo, doing, succeeded, failed...), or None."""
    if job_id is None:
        return None
    row = conn.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id]).fetchone()
    return row[0] if row else None


def worker_context(database_url: str, data_dir: Path | str | None) -> dict[str, Any]:
    """What each task receives: where the database and the rasters are."""
    return {"database_url": database_url, "data_dir": str(data_dir) if data_dir else None}


def run_worker(database_url: str, data_dir: Path | str | None = None, *, wait: bool = True) -> None:
    """Run a worker on the proposals queue; with wait=False it returns once the queue is empty."""
    make_app(database_url).run_worker(
        queues=[QUEUE],
        wait=wait,
        concurrency=1,
        install_signal_handlers=wait,
        listen_notify=wait,
        additional_context=worker_context(database_url, data_dir),
    )


class EmbeddedWorker:
    """A worker on its own thread and event loop inside the web process."""

    def __init__(self, database_url: str, data_dir: Path | str | None = None) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start taking jobs in the background."""
        self._thread = threading.Thread(target=self._run, name="proposal-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except asyncio.CancelledError:
            pass
        except Exception:  # the web process must survive a broken queue
            logger.exception("El trabajador de propuestas se detuvo")
        finally:
            self._loop.close()

    async def _main(self) -> None:
        app = make_app(self.database_url)
        async with app.open_async():
            self._task = asyncio.current_task()
            await app.run_worker_async(
                queues=[QUEUE],
                wait=True,
                concurrency=1,
                install_signal_handlers=False,
                additional_context=worker_context(self.database_url, self.data_dir),
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (the current job is cancelled and will be retried by the next one)."""
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
