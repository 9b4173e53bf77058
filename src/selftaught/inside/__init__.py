"""What runs inside the sandbox: every module of this package a sandboxed child imports.

A child (forked from a sandbox worker, see `selftaught.sandbox`) runs model-written code
next to this package, which that code may patch, so nothing here holds authority:
`child` (the runtime that answers the orchestrator's commands, with budget proxies),
`helpers` (what model-written code imports as `helpers`), `probe` (live checks that the
confinement holds), `events` (the safety events a child reports), and the wire format
both sides speak (`protocol`, `wire`, `messages`, `wire_errors`), which the host imports
from here. `improvers/` holds the seed and baseline improvers, source text that runs
inside as improvers. This package imports nothing else from selftaught
(tests/sandbox/test_inside_imports.py checks which modules a child loads).
"""
