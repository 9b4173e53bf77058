"""The read allowlist: the Python installation, never this package's source or the scratch space."""

from __future__ import annotations

import sys

import selftaught.sandbox.isolation as isolation


def test_an_installed_copy_of_the_package_is_left_out_of_the_allowlist(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "selftaught" / "sandbox").mkdir(parents=True)
    (site / "numpy").mkdir()
    (site / "helper.py").write_text("")
    monkeypatch.setattr(isolation, "__file__", str(site / "selftaught" / "sandbox" / "isolation.py"))
    monkeypatch.setattr(sys, "path", [str(site)])
    paths = isolation._python_read_paths(str(tmp_path / "scratch"))
    assert str(site / "numpy") in paths and str(site / "helper.py") in paths
    package = str(site / "selftaught")
    assert str(site) not in paths and not any(p == package or p.startswith(package + "/") for p in paths)


def test_an_editable_source_tree_and_the_scratch_space_are_left_out(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "selftaught" / "sandbox").mkdir(parents=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(isolation, "__file__", str(src / "selftaught" / "sandbox" / "isolation.py"))
    monkeypatch.setattr(sys, "path", [str(scratch), str(src)])
    paths = isolation._python_read_paths(str(scratch))
    assert str(src) not in paths and str(scratch) not in paths
    assert sys.base_prefix in paths or any(sys.base_prefix.startswith(p) for p in paths)
