"""``algorithm.passlens.*``: the integration's settings, read from verl's config, and small config helpers."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Mapping

import numpy as np

from ...advantages import REGISTRY, Composite, EstimatorSpec, parse_composite

__all__ = ["PREFIX", "OBJECTIVE", "INTEGRATION_KEYS", "Settings", "read_settings"]

#: Prefix of the names under which the registry estimators are registered in verl.
PREFIX = "passlens_"

#: The estimator (verl name ``passlens_objective``) whose spec is ``algorithm.passlens.objective``: any
#: spec, composites included (``rloo@0.7+coverage:k=8@0.3``, ``coverage:k=8/300/rloo``).
OBJECTIVE = "objective"

#: Keys of ``algorithm.passlens`` that configure the integration (besides the estimator's own params).
INTEGRATION_KEYS = (
    "small_groups", "threshold", "answer_key", "prompt_key", "correct_key", "train_metrics", "val_metrics",
    "val_rows",
)

_SUB = "passlens"  # the config section: algorithm.passlens


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``algorithm.passlens`` asks for, validated.

    Attributes:
      estimator: the registry name (``"pkpo"``) when ``algorithm.adv_estimator`` is a
        passlens estimator, else None (verl's own estimator; only the metrics apply).
      params: the estimator's resolved hyperparameters (defaults filled in).
      objective: for ``passlens_objective`` (estimator ``"objective"``), the spec of
        ``algorithm.passlens.objective``, checked; else None.
      small_groups: "error" (a group smaller than the estimator needs raises, naming its
        uid) or "zero" (such groups get advantage 0 and are counted).
      threshold: when set, a sample's score becomes 1 if score ≥ threshold else 0 before the
        estimator (binary-only estimators on ±1 rewards such as verl's ``math_dapo``:
        ``threshold=0.5``), and validation correctness falls back to reward ≥ threshold.
      answer_key: the ``compute_score`` extra key holding the extracted answer
        (``coverage``, ``novelty``; validation maj@k / coverage@k).
      prompt_key: the per-sample field naming the prompt across steps (``novelty``; verl's
        uids are fresh every step): ``raw_prompt`` (hashed) or ``index`` (the dataset's
        ``extra_info.index``), or any other field the batch carries.
      correct_key: the ``compute_score`` extra key holding correctness (validation).
      train_metrics: log ``passlens/train/*`` from the passlens trainers.
      val_metrics: log ``val-passlens/*`` from the passlens trainers.
      val_rows: write validation rows: True (``{trainer.default_local_dir}/passlens_val``),
        a directory, or False.
    """

    estimator: str | None
    params: Mapping[str, Any]
    objective: str | None = None
    small_groups: str = "error"
    threshold: float | None = None
    answer_key: str = "pred"
    prompt_key: str = "raw_prompt"
    correct_key: str = "acc"
    train_metrics: bool = True
    val_metrics: bool = True
    val_rows: bool | str = True

    @property
    def spec(self) -> EstimatorSpec | Composite | None:
        """The registry entry, or for ``passlens_objective`` the parsed spec (same attributes)."""
        if self.objective is not None:
            return parse_composite(self.objective)
        return REGISTRY[self.estimator] if self.estimator is not None else None


#: verl name → registry name of every estimator this process registered.
_REGISTERED: dict[str, str] = {}


def _section(config: Any) -> dict[str, Any]:
    """``config.passlens`` as a plain dict ({} when absent); config may be a DictConfig, a dict or None."""
    if config is None:
        return {}
    get = getattr(config, "get", None)
    sub = get(_SUB, None) if callable(get) else getattr(config, _SUB, None)
    if sub is None:
        return {}
    items = getattr(sub, "items", None)
    if not callable(items):
        raise ValueError(f"algorithm.{_SUB} must be a mapping of keys (e.g. +algorithm.{_SUB}.k=8), got {sub!r}")
    return {str(k): v for k, v in items()}


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ValueError(f"algorithm.{_SUB}.{key} must be true or false, got {value!r}")


def _as_key(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"algorithm.{_SUB}.{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _registry_name(adv_estimator: Any) -> str | None:
    """The registry name behind a verl estimator name, or None (verl's own estimators)."""
    name = str(getattr(adv_estimator, "value", adv_estimator))
    reg = _REGISTERED.get(name)
    if reg is None and name.startswith(PREFIX) and (name[len(PREFIX):] in REGISTRY or name[len(PREFIX):] == OBJECTIVE):
        reg = name[len(PREFIX):]
    return reg


def read_settings(adv_estimator: Any, config: Any) -> Settings:
    """Validate ``algorithm.passlens`` for the estimator ``algorithm.adv_estimator`` names.

    Args:
      adv_estimator: verl's ``algorithm.adv_estimator`` (a string or verl's enum).
      config: ``config.algorithm`` (OmegaConf DictConfig, dict, verl AlgoConfig or None).

    Returns:
      :class:`Settings`.

    Raises:
      ValueError: an unknown key (the message lists the accepted ones), or a value the
        key's type rejects (Hydra gives typed values; strings are converted).
    """
    who = str(getattr(adv_estimator, "value", adv_estimator))
    return _settings(_registry_name(adv_estimator), who, _section(config))


def _settings(reg: str | None, who: str, raw: Mapping[str, Any]) -> Settings:
    if reg == OBJECTIVE:
        unknown = sorted(set(raw) - {OBJECTIVE, *INTEGRATION_KEYS})
        if unknown:
            raise ValueError(f"algorithm.{_SUB}: unknown key(s) {', '.join(unknown)} for {who}; accepted: "
                             f"{', '.join([OBJECTIVE, *INTEGRATION_KEYS])} (write the estimators' parameters in the spec)")
        spec_text = raw.get(OBJECTIVE)
        if not isinstance(spec_text, str) or not spec_text.strip():
            raise ValueError(f"{who} needs +algorithm.{_SUB}.{OBJECTIVE}=<spec>, e.g. "
                             f"'rloo@0.7+coverage:k=8@0.3' or 'coverage:k=8/300/rloo' (quoted for Hydra)")
        parse_composite(spec_text)  # a bad spec is one line naming the bad part
        base = _settings(None, who, {k: v for k, v in raw.items() if k != OBJECTIVE})
        return dataclasses.replace(base, estimator=OBJECTIVE, objective=spec_text.strip())
    spec = REGISTRY[reg] if reg is not None else None
    own = [p.name for p in spec.params] if spec is not None else []
    accepted = own + list(INTEGRATION_KEYS)
    unknown = sorted(set(raw) - set(accepted))
    if unknown:
        what = who if spec is not None else f"algorithm.adv_estimator={who} (not a passlens estimator)"
        raise ValueError(f"algorithm.{_SUB}: unknown key(s) {', '.join(unknown)} for {what}; "
                         f"accepted: {', '.join(accepted)}")
    params: dict[str, Any] = {}
    if spec is not None:
        params = spec.resolve({k: v for k, v in raw.items() if k in own})
    out: dict[str, Any] = {}
    if "small_groups" in raw:
        v = raw["small_groups"]
        if v not in ("error", "zero"):
            raise ValueError(f"algorithm.{_SUB}.small_groups must be 'error' or 'zero', got {v!r}")
        out["small_groups"] = v
    if raw.get("threshold") is not None:
        v = raw["threshold"]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number, str)):
            raise ValueError(f"algorithm.{_SUB}.threshold must be a number, got {v!r}")
        try:
            out["threshold"] = float(v)
        except ValueError:
            raise ValueError(f"algorithm.{_SUB}.threshold must be a number, got {v!r}") from None
        if not math.isfinite(out["threshold"]):
            raise ValueError(f"algorithm.{_SUB}.threshold must be finite, got {v!r}")
    for key in ("answer_key", "prompt_key", "correct_key"):
        if key in raw:
            out[key] = _as_key(key, raw[key])
    for key in ("train_metrics", "val_metrics"):
        if key in raw:
            out[key] = _as_bool(key, raw[key])
    if "val_rows" in raw:
        v = raw["val_rows"]
        boolean = not isinstance(v, str) or v.strip().lower() in ("true", "false", "1", "0", "yes", "no")
        out["val_rows"] = _as_bool("val_rows", v) if boolean else _as_key("val_rows", v)
    return Settings(estimator=reg, params=params, **out)


def _cfg(config: Any, path: str, default: Any = None) -> Any:
    node = config
    for part in path.split("."):
        get = getattr(node, "get", None)
        if node is None or not callable(get):
            return default
        node = get(part, None)
    return default if node is None else node


_WARNED: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
