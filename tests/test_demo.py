"""`make demo` — the main job — runs to the end and shows the comparison table."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git-exp") is None, reason="git-exp is not installed on PATH: run `make test`")
def test_demo_runs_the_whole_loop(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(ROOT / "demo" / "demo.py")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    sweep = "git exp run -S lr=0.01,0.03,0.1 --jobs 2 --name-prefix sweep/ -- "
    assert sweep + "python train.py" in (ROOT / "README.md").read_text()  # the tour's sweep is the one run here
    assert "sweep done: 3 runs saved" in proc.stderr, proc.stderr[-2000:]
    for step in ("$ " + sweep, "$ git exp push origin --all", "$ git exp install origin",
                 "$ git fetch", "$ git exp show --sort -metrics.acc"):
        assert step in out, step
    table = out.split("$ git exp show --sort -metrics.acc\n", 1)[1].splitlines()
    names = [line.split()[0] for line in table[2:5]]  # under the metrics/params row and the header
    assert names == ["sweep/lr-0.03", "sweep/lr-0.01", "sweep/lr-0.1"]
