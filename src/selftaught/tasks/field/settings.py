"""A field task folder's optional `selftaught.toml`: limits, a held-out split, names.

The field formats carry one evaluator and no notion of splits. A user who wants the
reported score to be a held-out one adds, next to the evaluator:

    [splits]
    test_evaluator = "evaluator_test.py"   # the test split runs this file instead
    val_evaluator = "evaluator_val.py"     # (optional) and the validation split this one
    val_seed = 1                            # or: seeds each split's children, so an evaluator
    test_seed = 2                           # drawing from random/np.random draws apart

Without either, the validation and the test score are the same evaluation, and `show`,
`tasks check` and the report say so. Every key is optional; unknown keys are refused.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selftaught.errors import UserInputError

SETTINGS_FILE = "selftaught.toml"


class Splits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    val_evaluator: str | None = Field(None, description="evaluator file for the validation split")
    test_evaluator: str | None = Field(None, description="evaluator file for the test split")
    val_seed: int | None = None
    test_seed: int | None = None


class FieldSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    time_limit_s: float | None = Field(None, gt=0, le=3600)
    evaluator_time_limit_s: float = Field(60.0, gt=0, le=3600)
    score_scale: float = Field(1.0, gt=0, description="the score is fitness / score_scale, clipped to [0, 1]")
    cascade: bool = True
    cascade_thresholds: list[float] = Field(default_factory=lambda: [0.5, 0.75, 0.9])
    # AlgoTune-style folders
    task_class: str | None = None
    n: int = Field(8, ge=1)
    instances_val: int = Field(10, ge=1, le=1000)
    instances_test: int = Field(10, ge=1, le=1000)
    speedup_cap: float = Field(10.0, gt=1)
    splits: Splits = Field(default_factory=lambda: Splits.model_validate({}))

    @property
    def held_out(self) -> bool:
        """True if the test split differs from the validation split."""
        s = self.splits
        default_files = ("evaluator.py", "evaluate.py")  # what the validation split runs by default
        val_file = (s.val_evaluator,) if s.val_evaluator else default_files
        return (s.test_evaluator is not None and s.test_evaluator not in val_file) or (
            s.val_seed is not None and s.test_seed is not None and s.val_seed != s.test_seed
        )


def read_settings(folder: Path) -> FieldSettings:
    path = folder / SETTINGS_FILE
    if not path.exists():
        return FieldSettings.model_validate({})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return FieldSettings(**data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserInputError(f"cannot read {str(path)!r}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserInputError(f"{str(path)!r}: {where}: {first['msg']}") from exc
