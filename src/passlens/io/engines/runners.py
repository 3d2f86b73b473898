"""Who runs the plan: narwhals over a lazy frame (polars, DuckDB, Spark, Dask, …), or Ray Data.

A runner does two things with the inputs of one read, and returns small polars frames:

* :meth:`Runner.aggregate` — one :class:`~.plan.Spec` group-by over the canonical rows of
  every input; only the groups (per-problem counts, or the few cells a ``having`` keeps) are
  collected;
* :meth:`Runner.first` — the first ``limit`` canonical rows (in a given order) that a filter
  keeps: the error path, where a message quotes a row.

Engine errors (a file that cannot be read, a type the engine cannot cast) become one-line
:class:`~passlens.io.InputError` s naming the inputs and the engine.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from ..messages import one_line
from ..tables import InputError
from .plan import Keys, Spec, canonical

__all__ = ["Runner", "NarwhalsRunner", "RayRunner", "engine_message"]

#: The ops of :class:`Spec` that count rows (cast to Int64 after the group-by: DuckDB sums are HUGEINT).
_COUNTS = ("len", "sum")


class Runner:
    """The inputs of one read (engine-native frames) and how to run queries over them.

    Attributes:
      name: the engine, as messages name it.
      natives: one native frame per input.
      labels: how messages name each input.
      with_file: per input, a function giving the native frame with a ``_file`` column (the
        file each row comes from), or ``None`` where the input is one file or a frame.
    """

    name = "?"

    def __init__(
        self, natives: Sequence[Any], labels: Sequence[str], with_file: Sequence[Callable[[], Any] | None]
    ) -> None:
        self.natives, self.labels, self.with_file = list(natives), list(labels), list(with_file)

    def schema(self, i: int) -> dict[str, Any]:
        """Column names → narwhals dtypes of input ``i``."""
        raise NotImplementedError

    def aggregate(self, keys: Keys, spec: Spec) -> pl.DataFrame:
        """The group-by ``spec`` over the canonical rows of all inputs, collected."""
        raise NotImplementedError

    def first(
        self, keys: Keys, where: Callable[[], Any] | None, cols: list[str], order: list[str], limit: int | None = 1
    ) -> pl.DataFrame:
        """The first ``limit`` canonical rows (with raw text; by ``order``, nulls first) that ``where`` keeps;
        ``limit=None``: every such row, in no order (count rows: one per problem)."""
        raise NotImplementedError

    def fail(self, e: BaseException) -> InputError:
        return InputError(f"{', '.join(self.labels)}: cannot read with {self.name}: {engine_message(e)}")


def engine_message(e: BaseException) -> str:
    """An engine's error on one line: the worker's own error where a cluster wraps it (Ray's
    ``RayTaskError.cause``), without terminal colours."""
    seen = 0
    while getattr(e, "cause", None) is not None and seen < 10:
        e, seen = e.cause, seen + 1  # type: ignore[attr-defined]
    return re.sub(r"\x1b\[[0-9;]*m", "", one_line(e))


@contextmanager
def _quiet() -> Iterator[None]:
    """Engines' FutureWarnings about each other's versions (pyspark on pandas 3, narwhals on Dask)
    are not the user's business: silenced while an engine call runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _agg_exprs(spec: Spec) -> list[Any]:
    return [nw.len().alias(out) if op == "len" else getattr(nw.col(col), op)().alias(out) for out, op, col in spec.aggs]


def _count_casts(spec: Spec) -> list[Any]:
    return [nw.col(out).cast(nw.Int64) for out, op, _ in spec.aggs if op in _COUNTS]


class NarwhalsRunner(Runner):
    """Frames narwhals reads lazily: the plan is one lazy query per call, run by the frame's engine.

    ``collect`` gives the options of the engine's collect (polars: the streaming engine).
    """

    def __init__(
        self,
        name: str,
        natives: Sequence[Any],
        labels: Sequence[str],
        with_file: Sequence[Callable[[], Any] | None],
        collect: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(natives, labels, with_file)
        self.name = name
        self.collect_options = collect or {}

    def _lazy(self, native: Any) -> Any:
        with _quiet():
            frame = nw.from_native(native)
        return frame.lazy() if isinstance(frame, nw.DataFrame) else frame

    def schema(self, i: int) -> dict[str, Any]:
        try:
            with _quiet():
                return dict(self._lazy(self.natives[i]).collect_schema())
        except InputError:
            raise
        except Exception as e:  # engines raise their own exception types
            raise self.fail(e) from None

    def _frames(self, keys: Keys, diag: bool, natives: Sequence[Any]) -> Any:
        frames = [canonical(self._lazy(x), keys, i, diag) for i, x in enumerate(natives)]
        if len(frames) == 1:
            return frames[0]
        if diag:  # (a _file column in some inputs only)
            names = set.intersection(*(set(f.collect_schema().names()) for f in frames))
            frames = [f.select(*[c for c in f.collect_schema().names() if c in names]) for f in frames]
        return nw.concat(frames, how="vertical")

    def _collect(self, query: Any) -> pl.DataFrame:
        try:
            with _quiet():
                out = query.collect(**self.collect_options) if self.collect_options else query.collect()
            return out.to_polars()
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - each engine raises its own exception types
            raise self.fail(e) from None

    def aggregate(self, keys: Keys, spec: Spec) -> pl.DataFrame:
        lf = self._frames(keys, False, self.natives)
        if spec.where is not None:
            lf = lf.filter(spec.where())
        out = lf.select(*spec.columns).group_by(*spec.keys).agg(*_agg_exprs(spec))
        out = out.with_columns(*_count_casts(spec))
        if spec.having is not None:
            out = out.filter(nw.col(spec.having[0]) > nw.lit(spec.having[1]))
        return self._collect(out)

    def first(
        self, keys: Keys, where: Callable[[], Any] | None, cols: list[str], order: list[str], limit: int | None = 1
    ) -> pl.DataFrame:
        natives = self.natives if limit is None else [w() if w else x for w, x in zip(self.with_file, self.natives)]
        lf = self._frames(keys, True, natives)
        lf = lf.filter(where()) if where is not None else lf
        have = lf.collect_schema().names()
        lf = lf.select(*[c for c in cols if c in have])
        if limit is not None:
            lf = lf.sort(*[c for c in order if c in have], nulls_last=False).head(limit)
        return self._collect(lf)


class RayRunner(Runner):
    """Ray Data datasets: the canonical columns are computed per block (``map_batches`` over pyarrow
    tables, the same narwhals code), then Ray's own ``groupby().aggregate()`` (a hash shuffle of
    the small canonical rows) groups them; the groups come back as Arrow blocks.
    """

    name = "ray"

    def __init__(
        self,
        natives: Sequence[Any],
        labels: Sequence[str],
        with_file: Sequence[Callable[[], Any] | None],
        partitions: int | None = None,
    ) -> None:
        super().__init__(natives, labels, with_file)
        self.partitions = partitions

    def schema(self, i: int) -> dict[str, Any]:
        import pyarrow as pa

        try:
            schema = self.natives[i].schema()
        except Exception as e:  # noqa: BLE001
            raise self.fail(e) from None
        # (types are Arrow types, but for a pandas-block column of Python objects: read those as text)
        types = [t if isinstance(t, pa.DataType) else pa.string() for t in schema.types]
        arrow = pa.schema(list(zip(schema.names, types)))
        return dict(nw.from_native(arrow.empty_table()).collect_schema())

    def _canonical(self, keys: Keys, diag: bool, natives: Sequence[Any], step: Callable[[Any], Any]) -> Any:
        """Each input's blocks → canonical columns, then ``step`` (a narwhals frame → frame), unioned."""
        out = []
        for i, ds in enumerate(natives):

            def block(batch: Any, i: int = i) -> Any:
                import narwhals.stable.v2 as nw_

                frame = canonical(nw_.from_native(batch, eager_only=True), keys, i, diag)
                return step(frame).to_native()

            out.append(ds.map_batches(block, batch_format="pyarrow", zero_copy_batch=True))
        return out[0] if len(out) == 1 else out[0].union(*out[1:])

    def _run(self, build: Callable[[], Any]) -> pl.DataFrame:
        import pyarrow as pa
        import ray

        try:
            refs = build().to_arrow_refs()
            tables = [t for t in ray.get(refs) if t.num_rows]
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - Ray wraps the workers' errors in its own types
            raise self.fail(e) from None
        if not tables:
            return pl.DataFrame()
        return pl.DataFrame(pa.concat_tables(tables, promote_options="default"))

    def aggregate(self, keys: Keys, spec: Spec) -> pl.DataFrame:
        from ray.data.aggregate import Count, Max, Min, Sum

        make = {"sum": Sum, "min": Min, "max": Max}
        aggs = [Count(alias_name=out) if op == "len" else make[op](col, alias_name=out) for out, op, col in spec.aggs]
        cols = spec.columns
        where = spec.where

        def step(frame: Any) -> Any:
            return (frame.filter(where()) if where is not None else frame).select(*cols)

        def build() -> Any:
            grouped = self._canonical(keys, False, self.natives, step).groupby(
                list(spec.keys), num_partitions=self.partitions
            )
            out = grouped.aggregate(*aggs)
            if spec.having is not None:
                col, value = spec.having

                def having(batch: Any) -> Any:
                    import narwhals.stable.v2 as nw_

                    return nw_.from_native(batch, eager_only=True).filter(nw_.col(col) > value).to_native()

                out = out.map_batches(having, batch_format="pyarrow")
            return out

        res = self._run(build)
        if res.width == 0:  # no rows at all
            return pl.DataFrame(schema={**{k: pl.Null for k in spec.keys}, **{o: pl.Int64 for o, _, _ in spec.aggs}})
        return res.with_columns(pl.col(out).cast(pl.Int64) for out, op, _ in spec.aggs if op in _COUNTS)

    def first(
        self, keys: Keys, where: Callable[[], Any] | None, cols: list[str], order: list[str], limit: int | None = 1
    ) -> pl.DataFrame:
        natives = self.natives if limit is None else [w() if w else x for w, x in zip(self.with_file, self.natives)]

        def step(frame: Any) -> Any:
            frame = frame.filter(where()) if where is not None else frame
            have = frame.collect_schema().names()
            frame = frame.select(*[c for c in cols if c in have])
            if limit is None:
                return frame
            return frame.sort(*[c for c in order if c in have], nulls_last=False).head(limit)  # the block's first

        res = self._run(lambda: self._canonical(keys, True, natives, step))
        if res.height == 0 or limit is None:
            return res
        have = [c for c in order if c in res.columns]
        return res.sort(have, nulls_last=False).head(limit) if have else res.head(limit)
