"""The embedded local model: weights assembly (fast, fake parts) and one real call (marked local_model)."""

from __future__ import annotations

import ast
import hashlib
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selftaught.errors import MissingOptionalDependency, UserInputError
from selftaught.models.base import ModelRequest
from selftaught.models.local import LocalModel, LocalOptions
from selftaught.models.weights import (
    WeightsError,
    WeightsSpec,
    cache_dir,
    ensure_weights,
    is_verified,
    join_parts,
    locate_parts,
    stamp_path,
)


def _make_parts(folder: Path, chunks: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, chunk in enumerate(chunks, start=1):
        path = folder / f"part{index:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


CHUNKS = [b"GGUF" + bytes(range(200)), b"middle" * 50, b"tail"]
WHOLE = b"".join(CHUNKS)
GOOD_SHA = hashlib.sha256(WHOLE).hexdigest()


def _leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p not in (target, stamp_path(target)))


def test_join_parts_writes_verified_file(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "cache" / "model.gguf"
    assert join_parts(parts, target, len(WHOLE), GOOD_SHA) == target
    assert target.read_bytes() == WHOLE
    assert is_verified(target, len(WHOLE), GOOD_SHA)
    assert _leftovers(target.parent, target) == []


def test_bad_checksum_is_clear_error_and_leaves_no_file(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(WeightsError, match="sha256.*reinstall"):
        join_parts(parts, target, len(WHOLE), "0" * 64)
    assert not target.exists()
    assert not stamp_path(target).exists()
    assert _leftovers(target.parent, target) == []


def test_wrong_total_size_fails_before_writing(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path / "parts", CHUNKS[:2])
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(WeightsError, match="add up to"):
        join_parts(parts, target, len(WHOLE), GOOD_SHA)
    assert not target.exists()


def test_verified_file_is_reused_without_reading_parts(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "cache" / "model.gguf"
    join_parts(parts, target, len(WHOLE), GOOD_SHA)
    mtime = target.stat().st_mtime_ns
    gone = [tmp_path / "nowhere" / p.name for p in parts]  # a rejoin would fail on these
    assert join_parts(gone, target, len(WHOLE), GOOD_SHA) == target
    assert target.stat().st_mtime_ns == mtime


def test_unstamped_file_is_rehashed_not_rebuilt_and_corrupt_one_rebuilt(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "cache" / "model.gguf"
    join_parts(parts, target, len(WHOLE), GOOD_SHA)
    stamp_path(target).unlink()
    gone = [tmp_path / "nowhere" / p.name for p in parts]
    assert join_parts(gone, target, len(WHOLE), GOOD_SHA) == target  # hashed in place, restamped
    assert is_verified(target, len(WHOLE), GOOD_SHA)

    target.write_bytes(b"X" * len(WHOLE))  # same size, new mtime, wrong content
    assert not is_verified(target, len(WHOLE), GOOD_SHA)
    join_parts(parts, target, len(WHOLE), GOOD_SHA)
    assert target.read_bytes() == WHOLE


def _fake_part_packages(root: Path, chunks: list[bytes], prefix: str) -> WeightsSpec:
    for index, chunk in enumerate(chunks, start=1):
        package = root / f"{prefix}{index}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
        (package / "data" / f"part{index:02d}.bin").write_bytes(chunk)
    return WeightsSpec(
        filename="fake.gguf",
        size=len(b"".join(chunks)),
        sha256=hashlib.sha256(b"".join(chunks)).hexdigest(),
        part_packages=tuple(f"{prefix}{i}" for i in range(1, len(chunks) + 1)),
        part_file="data/part{i:02d}.bin",
    )


def test_ensure_weights_finds_installed_parts_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _fake_part_packages(tmp_path / "site", CHUNKS, "selftaught_fake_part")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    path = ensure_weights(spec, folder=tmp_path / "cache")
    assert path.read_bytes() == WHOLE
    assert not any(name.startswith("selftaught_fake_part") for name in sys.modules)


def test_missing_parts_raise_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _fake_part_packages(tmp_path / "site", CHUNKS, "selftaught_half_part")
    spec = WeightsSpec(
        spec.filename,
        spec.size,
        spec.sha256,
        (*spec.part_packages, "selftaught_absent_part9"),
        spec.part_file,
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    with pytest.raises(
        MissingOptionalDependency, match=r"selftaught-absent-part9.*pip install 'selftaught\[local\]'"
    ):
        locate_parts(spec)


def test_cache_dir_honours_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SELFTAUGHT_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "selftaught" / "models"
    monkeypatch.setenv("SELFTAUGHT_MODEL_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_local_options_parse() -> None:
    assert LocalOptions.parse("") == LocalOptions()
    assert LocalOptions.parse("/m/x.gguf").path == "/m/x.gguf"
    options = LocalOptions.parse("ctx=8192, parallel=4,seed=3")
    assert (options.ctx, options.parallel, options.seed) == (8192, 4, 3)
    with pytest.raises(UserInputError):
        LocalOptions.parse("colour=blue")
    with pytest.raises(UserInputError):
        LocalOptions.parse("ctx=big")


def test_importing_local_does_not_import_runtime() -> None:
    import selftaught.models.local as local

    src = str(Path(local.__file__).resolve().parents[2])
    code = "import sys, selftaught.models.local; assert 'xllamacpp' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


class _FakeEngine:
    """Stands in for xllamacpp.Server: answers `n` choices, first choice's usage only (like llama.cpp)."""

    listening_address = "http://127.0.0.1:9"  # nothing listens: token counting falls back to an estimate

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def handle_chat_completions(self, body: dict) -> dict:
        self.calls.append(body)
        choices = [
            {"index": i, "finish_reason": "stop", "message": {"content": f"answer {i}"}}
            for i in range(body["n"])
        ]
        return {"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 2}}


def test_complete_splits_n_over_slots_and_counts(tmp_path: Path) -> None:
    model = LocalModel(tmp_path / "m.gguf", LocalOptions(parallel=4, max_tokens=77))
    engine = _FakeEngine()
    model._server = engine
    response = model.complete(ModelRequest(system="s", user="u", n=6))
    assert len(response.completions) == 6
    assert [call["n"] for call in engine.calls] == [4, 2]
    assert all(call["max_tokens"] == 77 for call in engine.calls)
    assert engine.calls[0]["messages"][0] == {"role": "system", "content": "s"}
    assert response.prompt_tokens == 20
    assert response.completion_tokens == 2 + 3 * 2 + 2 + 2  # first choice from usage, others estimated
    assert response.model_identity == "local:m"
    model.close()
    model.close()


def test_complete_uses_fewer_slots_when_the_cache_is_small(tmp_path: Path) -> None:
    model = LocalModel(tmp_path / "m.gguf", LocalOptions(ctx=1024, parallel=8))
    engine = _FakeEngine()
    model._server = engine
    response = model.complete(ModelRequest(system="s", user="u" * 300, n=6, max_tokens=300))
    assert [call["n"] for call in engine.calls] == [2, 2, 2]  # (1024 - 100 - 64) // 300 = 2 samples
    assert len(response.completions) == 6


def _largest_python_block(text: str) -> str:
    blocks = re.findall(r"```python\s*\n(.*?)```", text, flags=re.DOTALL)
    return max(blocks, key=len) if blocks else ""


@pytest.mark.local_model
def test_real_local_model_answers_with_python() -> None:
    pytest.importorskip("xllamacpp", reason="the local extra is not installed")
    try:
        locate_parts()
    except MissingOptionalDependency as exc:
        pytest.skip(str(exc))
    from selftaught.models.registry import resolve_model

    model = resolve_model("local")
    try:
        response = model.complete(
            ModelRequest(
                system="You are an expert Python programmer. Answer with one ```python code block.",
                user="Write a function is_prime(n: int) -> bool.",
                n=1,
                temperature=0.2,
                max_tokens=300,
            )
        )
    finally:
        model.close()
    assert response.model_identity == "local:qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert len(response.completions) == 1
    code = _largest_python_block(response.completions[0])
    assert "def is_prime" in code
    ast.parse(code)
    assert response.prompt_tokens and response.completion_tokens
    assert response.latency_s > 0  # speed is measured by benchmarks/local_model.py, not asserted here
