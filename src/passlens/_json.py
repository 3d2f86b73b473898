"""numpy and NaN → plain JSON values, shared by every ``to_dict`` and written metrics file."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["json_ready"]


def json_ready(x: Any) -> Any:
    """numpy → plain Python (dict keys as str); NaN/inf → None, so json.dumps(..., allow_nan=False) works."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return [json_ready(v) for v in x.tolist()] if x.ndim else json_ready(x.item())
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if isinstance(x, np.generic):
        return json_ready(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
