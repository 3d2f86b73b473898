"""Engine sessions, from the environment, with a local default; each made once per process.

* DuckDB — an in-memory connection (all cores; it spills a large GROUP BY to a temporary folder).
* Spark — the active session if there is one (``spark-submit``, a notebook), else
  ``SparkSession.builder.getOrCreate()``: with ``SPARK_REMOTE`` set that is a Spark Connect
  session; otherwise the master is ``SPARK_MASTER`` (or ``MASTER``) when set, else pyspark's
  default ``local[*]``. A local session passlens starts has its web UI, progress bars and INFO
  logs off.
* Ray — the running cluster if ``ray.init`` was called, else ``ray.init()``, which joins
  ``RAY_ADDRESS`` when set and otherwise starts a local cluster; progress bars off.

An engine that is not installed, or that cannot start (Spark without a Java runtime), is a
one-line :class:`EngineError` saying what to install.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..messages import one_line
from ..tables import InputError

__all__ = ["EngineError", "ENGINES", "require", "duckdb_connection", "spark_session", "ray_ready"]

#: The engines ``read(..., engine=)`` and ``--engine`` accept, and the module each needs.
ENGINES = {"polars": "polars", "duckdb": "duckdb", "spark": "pyspark", "ray": "ray"}

#: The package extra that installs each engine.
_EXTRA = {"duckdb": "duckdb", "spark": "spark", "ray": "ray", "dask": "dask"}

_state: dict[str, Any] = {}


class EngineError(InputError):
    """An engine that is not installed or cannot start (one line: what to install or set)."""


def require(engine: str) -> Any:
    """The engine's module, or an :class:`EngineError` naming the extra that installs it."""
    if engine not in ENGINES:
        raise EngineError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    name = ENGINES[engine]
    try:
        return importlib.import_module(name)
    except ImportError:
        extra = _EXTRA.get(engine, engine)
        raise EngineError(f"engine {engine}: {name} is not installed (pip install 'passlens[{extra}]')") from None


def duckdb_connection() -> Any:
    """The process's DuckDB connection (in memory; large aggregations spill to a temporary folder)."""
    if "duckdb" not in _state:
        duckdb = require("duckdb")
        con = duckdb.connect(":memory:")
        spill = Path(tempfile.gettempdir()) / f"passlens-duckdb-{os.getpid()}"
        con.execute(f"SET temp_directory = '{_sql_text(str(spill))}'")
        _state["duckdb"] = con
    return _state["duckdb"]


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def spark_session() -> Any:
    """The active Spark session, or one from the environment (module docstring)."""
    require("spark")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "spark" in _state:
        return _state["spark"]
    builder = SparkSession.builder.appName("passlens")
    if not os.environ.get("SPARK_REMOTE"):
        master = os.environ.get("SPARK_MASTER") or os.environ.get("MASTER")
        if master:
            builder = builder.master(master)
        quiet = Path(__file__).with_name("log4j2.properties")
        builder = (
            builder.config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet.as_uri()}")
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # (pyspark on pandas 3 says it is untested)
            session = builder.getOrCreate()
    except Exception as e:  # noqa: BLE001 - pyspark raises several types when the JVM cannot start
        raise EngineError(
            f"engine spark: cannot start a Spark session ({one_line(e)}); a local session needs a Java runtime "
            "(java on PATH or JAVA_HOME), a cluster SPARK_REMOTE or SPARK_MASTER"
        ) from None
    _state["spark"] = session
    return session


def ray_ready() -> Any:
    """Ray, initialised (the running cluster, ``RAY_ADDRESS``, or a local one), progress bars off."""
    ray = require("ray")
    import logging

    import ray.data

    if not ray.is_initialized():
        try:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as e:  # noqa: BLE001
            raise EngineError(f"engine ray: cannot start or join a Ray cluster: {one_line(e)}") from None
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray
