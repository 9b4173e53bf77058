"""Integrity audits over a model or a recorded run: sandbox circumvention, reward hacking, strategies.

The classifiers and statistics live in `selftaught.analysis` (pure functions of text and
records); this package wires them to models and the store: `circumvention_audit` asks a
model for improvements and records what it wrote, `hacking_audit` and `strategies_audit`
read a recorded run (each `*_audit` module runs the audit of the `analysis` module of that
name), `summary` gathers every rate per model identity. The command line is `cli/audit.py`.
"""
