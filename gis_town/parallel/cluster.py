"""The cluster: an existing Dask scheduler, a local cluster of worker processes, or none (one process)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from gis_town.errors import InputError

log = logging.getLogger(__name__)


def _need_dask():
    try:
        import dask
        import dask_geopandas  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InputError(
            "未安装 Dask / Dask is not installed: the partitioned path needs dask, distributed "
            f'and dask-geopandas (pip install "gis-town[dask]"); missing: {exc.name}'
        ) from None
    return dask


@contextlib.contextmanager
def client_for(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
    dashboard: bool = False,
    timeout: str = "20s",
) -> Iterator[Any]:
    """Connect to a Dask cluster for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://10.0.0.5:8786``, or a
        scheduler file path ending in ``.json``): use that cluster.
    workers : int, optional
        Without ``scheduler``: start a local cluster of this many workers
        (processes by default), closed at the end of the block.
    threads_per_worker : int, default 1
        Threads per local worker. GEOS and PROJ work mostly holds the GIL,
        so processes scale and threads do not.
    processes : bool, default True
        Local workers as processes (False: threads in this process, for
        small tests).
    memory_limit : str or float or None, default "auto"
        Memory limit of each local worker ("auto": the machine's memory
        divided by the workers; "4GB"; None: no limit).
    dashboard : bool, default False
        Serve the Dask dashboard of a local cluster (on a free port).
    timeout : str, default "20s"
        How long to wait for a scheduler to answer.

    Yields
    ------
    distributed.Client or None
        ``None`` when neither ``scheduler`` nor ``workers`` is given: the
        partitioned functions then run in this process, one partition at a
        time.

    Raises
    ------
    InputError
        Dask is not installed, the scheduler cannot be reached, or
        ``workers`` is not positive.
    """
    if scheduler is None and not workers:
        if workers is not None:
            raise InputError(f"工作进程数应大于 0 / --workers must be at least 1, got {workers}")
        yield None
        return
    _need_dask()
    from distributed import Client, LocalCluster

    if scheduler:
        client = _connect(scheduler, workers, timeout)
        try:
            log.info("使用 Dask 集群 using the Dask cluster at %s", scheduler)
            yield client
        finally:
            client.close()
        return
    if int(workers) < 1:
        raise InputError(f"工作进程数应大于 0 / --workers must be at least 1, got {workers}")
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit if memory_limit is not None else 0,
        dashboard_address=":0" if dashboard else None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        log.info("本机 Dask 集群 local Dask cluster: %d workers", int(workers))
        yield client
    finally:
        client.close()
        cluster.close()


def _connect(scheduler: str, workers: int | None, timeout: str) -> Any:
    """A client of the running scheduler at ``scheduler`` (an address or a scheduler file)."""
    from distributed import Client

    if workers:
        log.warning(
            "已指定调度器 %s，忽略 workers=%s / a scheduler address is given: workers=%s is ignored",
            scheduler,
            workers,
            workers,
        )
    try:
        if str(scheduler).endswith(".json"):
            client = Client(scheduler_file=str(scheduler), timeout=timeout)
        else:
            client = Client(str(scheduler), timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"无法连接 Dask 调度器 / cannot connect to the Dask scheduler at {scheduler!r}: {exc}. "
            "Start one (`dask scheduler` and `dask worker ADDRESS` on each machine), check the "
            "address and the firewall, or run without --scheduler (one process) or with "
            "--workers N (a local cluster)"
        ) from None
    return client


def _has_client() -> bool:
    try:
        from distributed import default_client
    except ImportError:
        return False
    try:
        default_client()
    except ValueError:
        return False
    return True


def _compute(tasks: Sequence[Any]) -> list[Any]:
    """Compute delayed tasks: on the current Dask client, else one at a time in this process."""
    dask = _need_dask()
    if not tasks:
        return []
    if _has_client():
        return list(dask.compute(*tasks))
    return list(dask.compute(*tasks, scheduler="sync"))
