"""Where improver runs and candidate evaluations happen: this machine's worker pool, or a Ray cluster."""

from selftaught.executors.base import EXECUTORS, Executor, ImproverJob, RunningJob, Tracker, start_executor

__all__ = ["EXECUTORS", "Executor", "ImproverJob", "RunningJob", "Tracker", "start_executor"]
