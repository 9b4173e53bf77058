"""A built-in task cut down to some instances, so that sandboxed checks stay quick."""

from __future__ import annotations

from selftaught.tasks.base import Instance, Task


class Subset(Task):
    """A task cut down to some of its validation instances, to keep sandboxed checks quick."""

    def __init__(self, task: Task, indices: list[int]) -> None:
        self.task, self.indices = task, indices
        self.name, self.entry, self.time_limit_s = f"{task.name}{indices}", task.entry, task.time_limit_s

    def seed_solution(self) -> str:
        return self.task.seed_solution()

    def shown_utility(self) -> str:
        return self.task.shown_utility()

    def instances(self, split: str) -> list[Instance]:
        every = self.task.instances(split)
        return [every[i] for i in self.indices]

    def program(self, code: str) -> str:
        return self.task.program(code)

    def check(self, instance, output) -> float:
        return self.task.check(instance, output)

    def check_timed(self, instance, output, elapsed_s) -> float:
        return self.task.check_timed(instance, output, elapsed_s)

    @property
    def reference_rules(self):
        return self.task.reference_rules

    def reference_check(self, instance, output, elapsed_s):
        return self.task.reference_check(instance, output, elapsed_s)

    @property
    def batches_instances(self) -> bool:
        return self.task.batches_instances
