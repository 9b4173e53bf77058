"""Where improver runs and candidate evaluations happen: this machine's worker pool, or a Ray cluster.

Other packages add executors through the entry-point group `selftaught.executors` (registry.py).
"""

from selftaught.executors.base import EXECUTORS, Executor, ImproverJob, RunningJob, Tracker, start_executor
from selftaught.executors.registry import ExecutorKind, ExecutorOptions, executor_names

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorKind",
    "ExecutorOptions",
    "ImproverJob",
    "RunningJob",
    "Tracker",
    "executor_names",
    "start_executor",
]
