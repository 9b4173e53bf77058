"""Integrity audits over a model or a recorded run: sandbox circumvention, reward hacking, strategies.

The classifiers and statistics live in `selftaught.analysis` (pure functions of text and
records); this package wires them to models and the store: `circumvention` asks a model
for improvements and records what it wrote, `hacking` and `strategies` read a recorded
run, `summary` gathers every rate per model identity. The command line is `cli/audit.py`.
"""
