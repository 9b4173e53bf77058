"""Run machinery: how any run (STOP, an evaluation, an experiment, an audit) is opened, recorded and ended.

session.py (the `RunSession` every run opens), start.py (what it opens), calls.py (hooks, result
protocol), context.py (`RunContext` over recorder.py, scorer.py and control.py), scope.py
(`Scope`), resume.py (what a continued run carries on). The algorithm itself is in `selftaught.stop`.
"""
