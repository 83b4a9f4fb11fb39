"""Sequencing core: plain Python + NumPy + OR-Tools, no Django.

The Django adapter builds a ``Problem`` from its models, calls ``solve`` and shows the
``Result`` only if ``check_schedule`` returns no violation (``solve`` already checks).
"""

from .checker import check_schedule, recompute_metrics
from .model import (
    Changeover,
    Job,
    Line,
    Move,
    Objective,
    Problem,
    ProblemError,
    Result,
    ScheduledJob,
    Window,
)
from .solver import solve

__all__ = [
    "Changeover",
    "Job",
    "Line",
    "Move",
    "Objective",
    "Problem",
    "ProblemError",
    "Result",
    "ScheduledJob",
    "Window",
    "check_schedule",
    "recompute_metrics",
    "solve",
]
