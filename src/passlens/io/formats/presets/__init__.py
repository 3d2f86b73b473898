"""Tool presets: the logs that evaluation tools and trainers write, read with no flags.

One module per tool file, each a :class:`~.base.DocumentPreset` (JSON documents, read whole) or
a :class:`~.base.TablePreset` (JSON lines and Parquet, scanned lazily), listed here. A preset
recognizes its file by content; a file no preset claims is read as plain rows.

Adding a tool is one new module here and one entry in :data:`DOCUMENT_PRESETS` or
:data:`TABLE_PRESETS` (``tests/test_io_layout.py`` checks both, and that each has a fixture test).
"""

from __future__ import annotations

from .base import Defaults, DocumentPreset, Preset, PresetError, TablePreset, json_path
from .cruxeval import CruxEval
from .evalplus import EvalPlus
from .helm import Helm
from .inspect_ai import InspectLog
from .lighteval import LightevalDetails
from .livecodebench import LiveCodeBench
from .lm_eval_results import LmEvalResults
from .lm_eval_samples import LmEvalSamples
from .trl import TrlCompletions
from .verl import VerlDump

__all__ = [
    "Defaults",
    "Preset",
    "DocumentPreset",
    "TablePreset",
    "PresetError",
    "json_path",
    "DOCUMENT_PRESETS",
    "TABLE_PRESETS",
    "PRESETS",
]

#: JSON documents, asked in this order (the first that claims a document reads it).
DOCUMENT_PRESETS: tuple[type[DocumentPreset], ...] = (
    EvalPlus,
    LiveCodeBench,
    CruxEval,
    InspectLog,
    Helm,
    LmEvalResults,
)

#: JSON lines and Parquet tables, asked in this order.
TABLE_PRESETS: tuple[type[TablePreset], ...] = (LmEvalSamples, VerlDump, TrlCompletions, LightevalDetails)

#: Every preset.
PRESETS: tuple[type[Preset], ...] = (*DOCUMENT_PRESETS, *TABLE_PRESETS)
