"""Analysis of recorded runs: statistics, integrity audits and strategy labels.

Every module here is pure: it reads plain records or source text, never the store or a
model, so the commands that wire it to runs stay thin and the results stay testable.
"""
