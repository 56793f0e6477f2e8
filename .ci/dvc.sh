#!/usr/bin/env bash
# DVC for the tests that check git-exp against it (issue 13: DVC's experiments).
#
# DVC is heavy (~150 packages), so it is not in setup.cfg's test extra: this script builds
# once a virtualenv holding exactly dvc==$VERSION from PyPI into a cache outside the
# checkout, and prints the path of its `dvc` on stdout. Reruns use the cached one, without
# network.
#
# Environment:
#   GIT_EXP_DVC           use this dvc (a path) instead of building one
#   GIT_EXP_DVC_CACHE     cache dir (default /var/cache/git-exp as root,
#                         else ${XDG_CACHE_HOME:-~/.cache}/git-exp)
#   PYTHON                the python making the virtualenv (default python3)
#
# Exit status: 0 and the path of dvc on stdout; 3 and the reason on stdout when DVC cannot
# be had. Progress goes to stderr, the install log to the cache dir.
set -euo pipefail

VERSION=3.67.1

skip() {  # the reason and the remedy, on stdout for make and the tests to show
    echo "$* — run \`.ci/dvc.sh\` where PyPI is reachable (installs dvc==$VERSION once into ${CACHE:-/var/cache/git-exp}), or set GIT_EXP_DVC=/path/to/dvc"
    exit 3
}

usable() { "$1" --version >/dev/null 2>&1; }

if [ -n "${GIT_EXP_DVC:-}" ]; then
    usable "$GIT_EXP_DVC" || skip "GIT_EXP_DVC=$GIT_EXP_DVC does not run"
    echo "$GIT_EXP_DVC"; exit 0
fi

if [ "$(id -u)" = 0 ]; then
    CACHE=${GIT_EXP_DVC_CACHE:-/var/cache/git-exp}
else
    CACHE=${GIT_EXP_DVC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/git-exp}
fi
mkdir -p "$CACHE" 2>/dev/null || skip "cannot create cache dir $CACHE (set GIT_EXP_DVC_CACHE)"
VENV=$CACHE/dvc-$VERSION

# Fast path: built before.
if [ -f "$VENV/.complete" ] && usable "$VENV/bin/dvc"; then
    echo "$VENV/bin/dvc"; exit 0
fi

exec 9>"$CACHE/.dvc-lock"
flock 9   # one install at a time on this machine
if [ -f "$VENV/.complete" ] && usable "$VENV/bin/dvc"; then
    echo "$VENV/bin/dvc"; exit 0
fi

echo "dvc: installing dvc==$VERSION into $VENV (one time; log: $CACHE/dvc-install.log)" >&2
rm -rf "$VENV"
{ "${PYTHON:-python3}" -m venv "$VENV" \
    && "$VENV/bin/python" -m pip install -q --disable-pip-version-check "dvc==$VERSION"; } \
    >"$CACHE/dvc-install.log" 2>&1 \
    || { rm -rf "$VENV"; skip "could not install dvc==$VERSION from PyPI: see $CACHE/dvc-install.log"; }
usable "$VENV/bin/dvc" || { rm -rf "$VENV"; skip "the installed dvc does not run: see $CACHE/dvc-install.log"; }
touch "$VENV/.complete"
echo "$VENV/bin/dvc"
