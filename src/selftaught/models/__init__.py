"""Language models: backends chosen by spec string, and the paper's budgeted interface.

The names below are imported on first use: the OpenAI SDK's host process imports
`selftaught.models.openai_model` first thing, and must not pay for the run store's records.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selftaught.models.base import ModelBackend, ModelError, ModelRequest, ModelResponse
    from selftaught.models.facade import BudgetExceeded, LanguageModel
    from selftaught.models.registry import ModelKind, model_kinds, register_model_kind, resolve_model

_HOMES = {
    "BudgetExceeded": "selftaught.models.facade",
    "LanguageModel": "selftaught.models.facade",
    "ModelBackend": "selftaught.models.base",
    "ModelError": "selftaught.models.base",
    "ModelKind": "selftaught.models.registry",
    "ModelRequest": "selftaught.models.base",
    "ModelResponse": "selftaught.models.base",
    "model_kinds": "selftaught.models.registry",
    "register_model_kind": "selftaught.models.registry",
    "resolve_model": "selftaught.models.registry",
}

__all__ = [
    "BudgetExceeded",
    "LanguageModel",
    "ModelBackend",
    "ModelError",
    "ModelKind",
    "ModelRequest",
    "ModelResponse",
    "model_kinds",
    "register_model_kind",
    "resolve_model",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'selftaught.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
