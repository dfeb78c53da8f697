"""The Ray Data executor (``--executor ray``, extra ``voiceassist[ray]``): the tasks go into
``ray.data.from_items``, ``map_batches`` runs them on a pool of ``concurrency=K`` actors of a callable class
that loads the models once in its constructor (one model set per actor), and the outcomes stream back to
the driver, which writes the result files and the journal exactly as the local executors do.

With no Ray running (and no ``--ray-address`` / ``RAY_ADDRESS``), a local one is started for the batch and
shut down at its end. The actors read the input files by path, so on a multi-machine cluster the inputs must
be at the same path on every node; results are written by the driver only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from voiceassist.batch.models import analyze_task, load_models, with_threads
from voiceassist.config import Config

log = logging.getLogger(__name__)

RAY_MISSING = "the Ray executor needs the 'ray' extra: pip install 'voiceassist[ray]'"


class RayMissingError(RuntimeError):
    pass


def require_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise RayMissingError(f"{RAY_MISSING} ({e})") from e
    return ray


class BatchAnalyzer:
    """One Ray actor: the models loaded once, then one file per row."""

    def __init__(self, cfg: Config, frames: bool, verbose: int = 0) -> None:
        from voiceassist.logs import setup_logging

        setup_logging(verbose)
        self.cfg, self.frames = cfg, frames
        self.models, self.error = load_models(cfg)  # an error: every row then says so, and the driver stops

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        outcomes = []
        for key, path, name in zip(batch["key"], batch["path"], batch["name"], strict=True):
            task = {"key": str(key), "path": str(path), "name": str(name)}
            outcomes.append(json.dumps(analyze_task(self.cfg, self.models, self.error, task, self.frames)))
        return {"outcome": outcomes}


def _actor_pool(ray: Any, jobs: int) -> dict[str, Any]:
    """A fixed pool of ``jobs`` actors, each given one file at a time (files take seconds: balance beats
    prefetching). ``concurrency=K`` is deprecated since Ray 2.51 in favour of ``compute``."""
    strategy: Any = getattr(ray.data, "ActorPoolStrategy", None)
    try:
        return {"compute": strategy(size=jobs, max_tasks_in_flight_per_actor=1)}
    except TypeError:  # an older Ray (or none of it in ray.data)
        return {"concurrency": jobs}


def _omp_threads() -> str:
    """Ray sets OMP_NUM_THREADS to an actor's CPUs (1) when it is unset; that changes OpenBLAS's summation order
    in the mel features and now and then a decoded word. The actors get what a local worker has (unset:
    OpenBLAS uses every core), so the results are those of ``analyze`` and the local executors."""
    return os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count() or 1)


def run_ray(
    cfg: Config,
    tasks: list[dict[str, str]],
    frames: bool,
    jobs: int,
    address: str | None = None,
    verbose: int = 0,
) -> Iterator[dict[str, Any]]:
    """Outcomes in the order they come back."""
    ray = require_ray()
    jobs = max(1, min(jobs, len(tasks)))
    started = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        kwargs["log_to_driver"] = verbose > 0
        if address is None:  # a local Ray for this batch
            kwargs.update(num_cpus=os.cpu_count() or 1, object_store_memory=256 * 1024 * 1024)
        ray.init(address=address, **kwargs)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the batch draws its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
        ds = ray.data.from_items(tasks, override_num_blocks=max(1, min(len(tasks), 1000)))
        ds = ds.map_batches(
            BatchAnalyzer,
            fn_constructor_kwargs={"cfg": with_threads(cfg, jobs), "frames": frames, "verbose": verbose},
            batch_size=1,
            num_cpus=1,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": _omp_threads()}},
            **_actor_pool(ray, jobs),
        )
        for row in ds.iter_rows():
            yield json.loads(row["outcome"])
    finally:
        if started:
            ray.shutdown()
