"""The `sandbox` task: generator and checker (task.py), seed, shown utility and strong solution."""
