"""The suite's parallel run keeps `xdist_group` tests on one worker.

The update story (`copier-update`) and the browser checks (`browser`) build their projects once per worker
that runs them; `--dist loadgroup` (the Makefile's default) sends each group to a single worker. When a
pytest or pytest-xdist release breaks that, nothing fails: the projects are just built twice and the suite
gets minutes slower. This test makes the break visible.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import run

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("case", range(6))
def test_case(case):
    pass
"""


def test_grouped_tests_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    result = run([*command, "-v", "test_grouped.py"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    workers = re.findall(r"\[(gw\d+)\] \[\s*\d+%\] PASSED", result.stdout)
    assert len(workers) == 6, result.stdout
    assert len(set(workers)) == 1, f"the group was spread over {sorted(set(workers))}:\n{result.stdout}"
