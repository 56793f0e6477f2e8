#!/usr/bin/env python3
"""The whole git-exp loop on a local bare remote, in a scratch directory: `make demo`.

A CI-like runner (a depth-1 clone with a detached HEAD) runs a small parameter sweep and
pushes the experiments; a laptop clone installs the refspecs, gets them with a plain
`git fetch`, pulls them, and compares them.  Every command is printed before it runs,
so the output reads as a transcript of the workflow.  Standard library only; needs
`git` and `git-exp` on PATH.  The scratch directory is kept and printed at the end.
"""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

PARAMS = "lr: {lr}\nepochs: 3\n"
# A sweep over lr with `run -S`: each value in its own temporary worktree, 2 at once.
SWEEP = ("git", "exp", "run", "-S", "lr=0.01,0.03,0.1", "--jobs", "2", "--name-prefix", "sweep/", "--")

TRAIN_PY = '''\
"""A stand-in for training: reads params.yaml, writes metrics.json."""
import json


def read_params(path="params.yaml"):
    """A tiny parser for flat `key: value` YAML, so this needs no packages."""
    params = {}
    for line in open(path):
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            value = value.strip()
            try:
                params[key.strip()] = int(value)
            except ValueError:
                params[key.strip()] = float(value) if value.replace(".", "", 1).isdigit() else value
    return params


params = read_params()
lr, epochs = params["lr"], params["epochs"]
for epoch in range(1, epochs + 1):
    loss = round(1.0 / (1 + epoch * lr * 10), 4)
    print(f"epoch {epoch}/{epochs}  loss={loss}")
acc = round(0.95 - 40 * (lr - 0.03) ** 2, 4)  # fake but deterministic: best at lr=0.03
json.dump({"acc": acc, "loss": loss}, open("metrics.json", "w"), indent=2)
print(f"accuracy {acc}")
'''


class Demo:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="git-exp-demo-")
        self.cwd = None  # the directory the transcript last cd'ed to
        self.env = dict(os.environ)
        self.env.pop("GIT_DIR", None)
        self.env.pop("GIT_WORK_TREE", None)
        self.python = "python3" if shutil.which("python3") else sys.executable
        # A fresh machine has no git identity: give the demo's commits one.
        if subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], capture_output=True, env=self.env).returncode:
            self.env.update(GIT_AUTHOR_NAME="Demo", GIT_AUTHOR_EMAIL="demo@example.com",
                            GIT_COMMITTER_NAME="Demo", GIT_COMMITTER_EMAIL="demo@example.com")

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def step(self, title):
        print(f"\n# {title}", flush=True)

    def shown(self, text):
        return text.replace(self.root, "$DEMO")

    def cd(self, where):
        if where != self.cwd:
            print(f"$ cd {self.shown(where)}", flush=True)
            self.cwd = where

    def run(self, *argv, where=None):
        """Print a command like a shell transcript, then run it (output goes straight through)."""
        self.cd(where or self.root)
        print("$ " + self.shown(shlex.join(argv)), flush=True)
        subprocess.run(argv, cwd=self.cwd, env=self.env, check=True)

    def write(self, where, name, text, shown=None):
        """Write a file, showing the shell command that would do the same."""
        self.cd(where)
        print(f"$ {shown}" if shown else f"$ cat > {name} <<'EOF'\n{text}EOF", flush=True)
        with open(os.path.join(where, name), "w") as f:
            f.write(text)


def main():
    demo = Demo()
    print(f"$ DEMO={demo.root}")
    demo.cd(demo.root)
    url = "file://" + demo.path("remote.git")

    demo.step("1. A shared remote (a bare repository stands in for your git host)")
    demo.run("git", "init", "--quiet", "--bare", "--initial-branch=main", demo.path("remote.git"))

    demo.step("2. A project: parameters, a training script, committed and pushed")
    project = demo.path("project")
    demo.run("git", "init", "--quiet", "--initial-branch=main", project)
    demo.write(project, "params.yaml", PARAMS.format(lr=0.1))
    demo.write(project, "train.py", TRAIN_PY, shown="cat > train.py    # reads params.yaml, writes metrics.json")
    demo.write(project, ".gitignore", "__pycache__/\n", shown="echo '__pycache__/' > .gitignore")
    demo.run("git", "add", "-A", where=project)
    demo.run("git", "commit", "--quiet", "-m", "Add training script", where=project)
    demo.run("git", "remote", "add", "origin", url, where=project)
    demo.run("git", "push", "--quiet", "-u", "origin", "main", where=project)

    demo.step("3. A CI-like runner: depth-1 clone, detached HEAD, runs a sweep (run -S), pushes the experiments")
    runner = demo.path("runner")
    demo.run("git", "clone", "--quiet", "--depth", "1", url, runner)
    demo.run("git", "checkout", "--quiet", "--detach", where=runner)
    demo.run(*SWEEP, demo.python, "train.py", where=runner)  # the README tour's sweep
    demo.run("git", "log", "-1", "--format=%(trailers)", "refs/exp/sweep/lr-0.03", where=runner)
    demo.run("git", "exp", "ls", where=runner)
    demo.run("git", "exp", "push", "origin", "--all", where=runner)

    demo.step("4. A laptop: install the refspecs once, then plain `git fetch` brings experiments")
    laptop = demo.path("laptop")
    demo.run("git", "clone", "--quiet", url, laptop)
    demo.run("git", "exp", "install", "origin", where=laptop)
    demo.run("git", "config", "--get-regexp", r"^remote\.origin\.", where=laptop)
    demo.run("git", "fetch", where=laptop)
    demo.run("git", "exp", "ls", "-r", where=laptop)
    demo.run("git", "exp", "pull", "origin", "--all", where=laptop)

    demo.step("5. Compare: a table sorted by accuracy, Markdown for a CI summary, run metadata, a diff")
    demo.run("git", "exp", "show", "--sort", "-metrics.acc", where=laptop)
    demo.run("git", "exp", "show", "--md", where=laptop)
    demo.run("git", "log", "-1", "--format=%(trailers)", "refs/exp/sweep/lr-0.03", where=laptop)
    demo.run("git", "exp", "diff", "sweep/lr-0.03", "sweep/lr-0.1", where=laptop)

    print(f"\nDone. The scratch directory is kept: {demo.root}")
    print(f"Look around with: cd {demo.path('laptop')} && git exp show")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(f"demo: `{shlex.join(map(str, exc.cmd))}` failed with exit code {exc.returncode}")
    except FileNotFoundError as exc:
        sys.exit(f"demo: {exc.filename} not found — run `make demo`, or put git and git-exp on PATH")
