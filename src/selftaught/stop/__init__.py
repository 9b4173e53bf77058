"""STOP, the algorithm only: the seed improver, an improver run, the meta-utility, the loop.

What a run is opened, recorded and ended with is run machinery, in `selftaught.runs`.
"""
