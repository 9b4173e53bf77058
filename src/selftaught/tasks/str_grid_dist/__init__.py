"""The `str_grid_dist` task: generator and checker (task.py), seed, shown utility and strong solution."""
