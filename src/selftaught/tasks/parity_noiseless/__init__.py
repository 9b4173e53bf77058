"""The `parity_noiseless` task: generator and checker (task.py), seed, shown utility and strong solution."""
