"""The arena: STOP's improvers against the field's optimizers at a matched budget, with intervals.

Every arm of an arena spends the same model budget per (task, repeat) (budget.py), asked
through the run's model: selftaught's improvers through the usual facade, an external
optimizer (OpenEvolve, ...) through the budgeted OpenAI-compatible gateway (gateway.py,
server.py) in a child process of its own (external.py). Each arm's best program is scored
on the held-out test split, and the table gives means with t intervals and paired
differences to the seed improver (table.py). Kept light: importing it imports nothing heavy.
"""
