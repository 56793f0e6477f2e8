"""`git exp <TAB>` through git's own bash completion."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")


def complete(repo, words: str) -> list[str]:
    script = f"""
source {GIT_COMPLETION}
source {ROOT / 'completion' / 'git-exp.bash'}
COMP_WORDS=({words})
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
COMP_LINE="{words}"
COMP_POINT=${{#COMP_LINE}}
__git_wrap__git_main
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    proc = subprocess.run(["bash", "-c", script], cwd=repo, capture_output=True, text=True)
    return sorted(w.strip() for w in proc.stdout.splitlines() if w.strip())


@pytest.mark.skipif(not GIT_COMPLETION.exists(), reason="git's bash completion is not installed (package git)")
def test_completes_subcommands_names_and_remotes(repo, exp):
    from .conftest import git

    exp("save", "-n", "sweep/a")
    git(repo, "remote", "add", "origin", "/nowhere")
    assert "save" in complete(repo, "git exp ''") and "doctor" in complete(repo, "git exp ''")
    assert complete(repo, "git exp sh") == ["show"]
    assert complete(repo, "git exp show sw") == ["sweep/a"]
    assert complete(repo, "git exp push or") == ["origin"]
    assert "--isolated" in complete(repo, "git exp run --")
