"""The `maxcut` task: generator and checker (task.py), seed, shown utility and strong solution."""
