"""Experiments: resumable sweeps of techniques over datasets and budgets. Introduced in
lesson 06."""

from .sweep import (
           ROW_FIELDS,
           Arm,
           Sweep,
           SweepError,
           SweepFileWarning,
           SweepRecord,
           SweepResult,
           Task,
           load_records,
)

__all__ = ["ROW_FIELDS", "Arm", "Sweep", "SweepError", "SweepFileWarning", "SweepRecord",
           "SweepResult", "Task", "load_records"]
