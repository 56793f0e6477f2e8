"""Completion in real shells, from the files ``pip install`` put under ``<prefix>/share``.

bash: git's own completion loads ours through bash-completion's loader for ``git exp
<TAB>`` (``_completion_loader git-exp``); zsh: git's ``_git`` calls our ``_git-exp`` from
``$fpath``; fish: ``vendor_conf.d`` adds ``exp`` to fish's git completion, whose own hook
for git-* commands is broken in fish 3.6.  Each shell is driven as a person would drive it
(bash and zsh in a pseudo-terminal, a TAB typed after the line; fish through ``complete
-C``), and what the shell would offer is captured.
"""
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from git_exp.cli import COMMANDS

from .conftest import commit_all, git, write

pytestmark = pytest.mark.once  # what a shell offers does not depend on the object or ref format

SHARE = Path(sys.prefix) / "share"
GIT_BASH = Path("/usr/share/bash-completion/completions/git")
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
ZSH_GIT = Path("/usr/share/zsh/functions/Completion/Unix/_git")
INSTALLED = [SHARE / "bash-completion/completions/git-exp.bash", SHARE / "zsh/site-functions/_git-exp",
             SHARE / "fish/vendor_completions.d/git-exp.fish", SHARE / "fish/vendor_conf.d/git-exp.fish",
             SHARE / "fish/vendor_functions.d/__git_exp_complete.fish"]

# (line typed before TAB, what must be offered: exactly, or at least with "..." last)
LINES = [
    ("git exp sh", ["show"]),
    ("git exp ", [*COMMANDS, "..."]),  # every command: new ones included
    ("git exp show sw", ["sweep/a", "sweep/b"]),
    ("git exp diff or", ["origin/r1"]),  # REMOTE/NAME, as ls -r prints it
    ("git exp push or", ["origin", "origin/r1"]),
    ("git exp ls ", ["origin"]),
    ("git exp show --sort=-m", ["-metrics.acc"]),
    ("git exp show --sort ", ["name", "params.lr", "metrics.acc", "..."]),
    ("git exp show --where=p", ["params.lr"]),
    ("git exp run --is", ["--isolated"]),
    ("git exp rm --remote o", ["origin"]),
    ("git-exp sh", ["show"]),
]


@pytest.fixture
def completing(repo, exp):
    if not all(path.exists() for path in INSTALLED):
        pytest.skip(f"the completion files are not installed under {SHARE} (make install)")
    write(repo, {"params.yaml": "lr: 0.1\n", "metrics.json": '{"acc": 0.5}'})
    commit_all(repo)
    for name in ("sweep/a", "sweep/b"):
        assert exp("save", "-n", name).code == 0
    git(repo, "remote", "add", "origin", str(repo.parent / "nowhere.git"))
    git(repo, "update-ref", "refs/remote-exp/origin/r1", "HEAD")
    return repo


def check(offered: dict, shell: str) -> None:
    for line, expected in LINES:
        got = offered.get(line)
        assert got is not None, (shell, line, "no answer")
        current = line.rpartition(" ")[2]
        if current.startswith("--") and "=" in current:  # zsh and fish offer --opt=VALUE, bash VALUE
            option = current.partition("=")[0] + "="
            got = [word.removeprefix(option) for word in got]
        if expected[-1] == "...":
            assert set(expected[:-1]) <= set(got), (shell, line, got)
        else:
            assert sorted(got) == sorted(expected), (shell, line, got)


def in_terminal(argv: list, lines: list, hits: Path, env: dict, cwd) -> dict:
    """Type each line and a TAB into ``argv`` in a pseudo-terminal; the shell appends what
    it offers, then ``<<done>>``, to ``hits``.  {line: offered words}."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True)
    os.close(slave)
    offered = {}
    try:
        for line in lines:
            hits.write_text("")
            os.write(master, line.encode() + b"\t")
            deadline = time.monotonic() + 20
            while "<<done>>" not in hits.read_text() and time.monotonic() < deadline:
                if select.select([master], [], [], 0.05)[0]:
                    os.read(master, 65536)  # what the terminal shows: not ours to read
            words = hits.read_text().split("\n")
            if "<<done>>" in words:
                offered[line] = [w.strip() for w in words[:words.index("<<done>>")] if w.strip()]
            os.write(master, b"\x15")  # Ctrl-U: an empty line for the next
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return offered


@pytest.mark.skipif(not (GIT_BASH.exists() and BASH_COMPLETION.exists()),
                    reason="git's bash completion or bash-completion is not installed (apt-get install git bash-completion)")
def test_bash(completing, tmp_path):
    hits = tmp_path / "hits"
    rc = tmp_path / "bashrc"
    # git's completion and bash-completion as a distribution sets them up; ours is found
    # by bash-completion's loader in $XDG_DATA_DIRS, as pip installed it.  The wrappers
    # only write down what the real completion functions put in COMPREPLY.
    rc.write_text(f"""
source {BASH_COMPLETION}
source {GIT_BASH}
__test_wrap () {{ "$@"; printf '%s\\n' "${{COMPREPLY[@]}}" '<<done>>' >> {hits}; }}
__test_git () {{
    __test_wrap __git_wrap__git_main "$@"
    complete -o nospace -F __test_git_exp git-exp  # loading git-exp.bash set its own
}}
__test_git_exp () {{
    declare -F _git_exp_command >/dev/null || _completion_loader git-exp
    __test_wrap _git_exp_command "$@"
    complete -o nospace -F __test_git_exp git-exp
}}
complete -o bashdefault -o default -o nospace -F __test_git git
complete -o nospace -F __test_git_exp git-exp
PS1=''
""")
    env = {**os.environ, "XDG_DATA_DIRS": f"{SHARE}:/usr/share", "TERM": "dumb"}
    offered = in_terminal(["bash", "--noprofile", "--rcfile", str(rc), "-i"], [line for line, _ in LINES],
                          hits, env, completing)
    check(offered, "bash")


@pytest.mark.skipif(not (shutil.which("zsh") and ZSH_GIT.exists()), reason="zsh is not installed (apt-get install zsh)")
def test_zsh(completing, tmp_path):
    hits = tmp_path / "hits"
    zdot = tmp_path / "zdot"
    zdot.mkdir()
    # compadd is wrapped to write down each match it adds (as zsh-capture-completion does)
    (zdot / ".zshrc").write_text(f"""
fpath=({SHARE}/zsh/site-functions $fpath)
autoload -U compinit && compinit -u -D
compadd () {{
    local -a __hits
    builtin compadd -O __hits "$@"
    (( $#__hits )) && print -rl -- "${{^__hits[@]}}" >> {hits}
    builtin compadd "$@"
}}
complete-and-mark () {{ zle complete-word; print -r -- '<<done>>' >> {hits} }}
zle -N complete-and-mark
bindkey '^I' complete-and-mark
PROMPT=''
""")
    env = {**os.environ, "ZDOTDIR": str(zdot), "TERM": "dumb"}
    offered = in_terminal(["zsh", "-i"], [line for line, _ in LINES], hits, env, completing)
    check(offered, "zsh")


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed (apt-get install fish)")
def test_fish(completing):
    script = "".join(f"complete -C {line!r}; echo '<<done>>'\n" for line, _ in LINES)
    env = {**os.environ, "XDG_DATA_DIRS": f"{SHARE}:/usr/share"}
    ran = subprocess.run(["fish", "-c", script], cwd=completing, env=env, capture_output=True, text=True)
    blocks = ran.stdout.split("<<done>>\n")
    offered = {line: [entry.split("\t")[0] for entry in block.splitlines() if entry]
               for (line, _), block in zip(LINES, blocks)}
    check(offered, "fish")


def test_the_hidden_complete_command_prints_nothing_outside_a_repository(tmp_path, exp):
    ran = exp("__complete", "--", "show", "--sort=", cwd=tmp_path)
    assert (ran.code, ran.out, ran.err) == (0, "", "")
    ran = exp("__complete", "--", "sh", cwd=tmp_path)  # commands need no repository
    assert ran.code == 0 and ran.out.split("\t")[0] == "show"
