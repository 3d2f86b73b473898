"""Run code right after a verl module has been imported.

The plugin is imported inside verl's own ``__init__``, long before verl's trainer modules exist,
and importing them there would cost seconds in every process that imports verl. So this module
waits: when ``verl.trainer.ppo.ray_trainer`` / ``verl.trainer.ppo.v1.utils`` execute, their
``compute_advantage`` is wrapped (:func:`passlens.integrations.verl._estimators._patch_compute_advantage`);
when ``verl.trainer.ppo.v1`` executes, the passlens trainers are registered.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any, Callable

from ._estimators import _patch_compute_advantage

__all__ = ["install_hooks"]

class _AfterImport(importlib.abc.MetaPathFinder):
    """A meta-path finder that runs callbacks right after a named module has executed."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.callbacks:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        callbacks = self.callbacks.pop(fullname)
        if not self.callbacks and self in sys.meta_path:
            sys.meta_path.remove(self)
        exec_module = loader.exec_module

        def exec_then_notify(module: ModuleType) -> None:
            try:
                exec_module(module)
            finally:
                del loader.exec_module  # the loader is this module's own (FileFinder makes one per module)
            for cb in callbacks:
                _safely(cb, module)

        loader.exec_module = exec_then_notify  # type: ignore[method-assign]
        return spec


_HOOK = _AfterImport()


def _safely(cb: Callable[[ModuleType], None], module: ModuleType) -> None:
    try:
        cb(module)
    except Exception as e:  # verl's import must not fail because of passlens
        warnings.warn(f"passlens: setting up after {module.__name__} failed ({type(e).__name__}: {e})",
                      RuntimeWarning, stacklevel=2)


def _when_imported(name: str, cb: Callable[[ModuleType], None]) -> None:
    module = sys.modules.get(name)
    if module is not None:
        _safely(cb, module)
        return
    _HOOK.callbacks.setdefault(name, []).append(cb)
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)


_HOOKS_INSTALLED = False


def install_hooks() -> None:
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    _when_imported("verl.trainer.ppo.ray_trainer", _patch_compute_advantage)
    _when_imported("verl.trainer.ppo.v1.utils", _patch_compute_advantage)
    _when_imported("verl.trainer.ppo.v1", _register_trainers_hook)


def _register_trainers_hook(_module: ModuleType) -> None:
    from ._trainers import register_trainers

    register_trainers()
