"""Shared pieces of the arena tests: the scripted model, the strong improver, a small arena."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ARENA_MODEL = f"script:{HERE / 'arena_model.py'}"
STRONG_IMPROVER = HERE / "strong_improver.py"
HAVE_OPENEVOLVE = importlib.util.find_spec("openevolve") is not None
needs_openevolve = pytest.mark.skipif(
    not HAVE_OPENEVOLVE,
    reason="OpenEvolve is not installed (the 'arena' extra: pip install 'selftaught[arena]')",
)
