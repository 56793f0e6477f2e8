#!/usr/bin/env bash
# A current git for the test suite's second pass (SHA-256 objects, reftable refs).
#
# Builds Debian 13 (trixie)'s source package of git into a cache outside the checkout,
# once per version, and prints the path of the built `git` on stdout. Debian 13's binary
# package needs a newer C library than Debian 12 has, so we build from source.
#
# - The system git and the system apt sources stay as they were: the trixie source index
#   is read with a private sources list, lists directory and apt cache under the cache dir.
# - Build dependencies (the few the build needs: libcurl4-openssl-dev for http, zlib,
#   expat) come from the system's own apt sources, and only when we are root.
# - Reruns are fast: a built version is used as it is, without network.
#
# Environment:
#   GIT_EXP_CURRENT_GIT    use this git (a path) instead of building one
#   GIT_EXP_GIT_CACHE      cache dir (default /var/cache/git-exp as root,
#                          else ${XDG_CACHE_HOME:-~/.cache}/git-exp)
#   GIT_EXP_GIT_REFRESH=1  look up trixie's current version even if one is built
#
# Exit status: 0 and the path of git on stdout; 3 and the reason on stdout when no current
# git can be had. Progress goes to stderr, build logs to the cache dir.
set -euo pipefail

MIN_VERSION=2.47   # reftable (2.45+) and a current SHA-256 implementation
SUITE=trixie

say() { echo "git-current: $*" >&2; }
skip() {  # the reason and the remedy, on stdout for make to show
    echo "$*"
    echo "to enable it: run \`make git-current\` as root where Debian's archive is reachable (builds git"
    echo "once, about 6 minutes on 2 cores, into ${CACHE:-/var/cache/git-exp}), or set GIT_EXP_CURRENT_GIT=/path/to/git (2.47 or later)"
    exit 3
}

# Is the git at $1 new enough, with http? (status only)
usable() {
    local v
    v=$("$1" version 2>/dev/null | sed -n 's/^git version \([0-9]*\.[0-9]*\).*/\1/p') || return 1
    [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ] \
        && [ -x "$("$1" --exec-path)/git-remote-http" ]
}

if [ -n "${GIT_EXP_CURRENT_GIT:-}" ]; then
    usable "$GIT_EXP_CURRENT_GIT" \
        || skip "GIT_EXP_CURRENT_GIT=$GIT_EXP_CURRENT_GIT is no git $MIN_VERSION or later with http support"
    echo "$GIT_EXP_CURRENT_GIT"; exit 0
fi

if [ "$(id -u)" = 0 ]; then
    CACHE=${GIT_EXP_GIT_CACHE:-/var/cache/git-exp}
else
    CACHE=${GIT_EXP_GIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/git-exp}
fi
mkdir -p "$CACHE" 2>/dev/null || skip "cannot create cache dir $CACHE (set GIT_EXP_GIT_CACHE)"

# Fast path: a version built before, used without network.
if [ -z "${GIT_EXP_GIT_REFRESH:-}" ] && [ -L "$CACHE/current" ] && usable "$CACHE/current/bin/git"; then
    echo "$(readlink -f "$CACHE/current")/bin/git"; exit 0
fi

exec 9>"$CACHE/.lock"
flock 9   # one build at a time on this machine (two CI runs, or a developer and CI)
if [ -z "${GIT_EXP_GIT_REFRESH:-}" ] && [ -L "$CACHE/current" ] && usable "$CACHE/current/bin/git"; then
    echo "$(readlink -f "$CACHE/current")/bin/git"; exit 0
fi

command -v apt-get >/dev/null || skip "no apt-get here: cannot fetch Debian's git source"

# Private apt state: nothing under /etc/apt or /var/lib/apt is read for sources or written.
APT_DIR=$CACHE/apt
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/sources.list.d"
cat > "$APT_DIR/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $SUITE-security main
SRC
# A private apt configuration too (APT_CONFIG is read before /etc/apt/apt.conf.d, and points
# the parts dir away from it), so no update hook of the system's runs for our index.
mkdir -p "$APT_DIR/apt.conf.d"
cat > "$APT_DIR/apt.conf" <<CONF
Dir::Etc::parts "$APT_DIR/apt.conf.d";
Dir::Etc::main "/dev/null";
Dir::Etc::sourcelist "$APT_DIR/sources.list";
Dir::Etc::sourceparts "$APT_DIR/sources.list.d";
Dir::State::Lists "$APT_DIR/lists";
Dir::Cache "$APT_DIR/cache";
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
export APT_CONFIG=$APT_DIR/apt.conf

say "reading Debian $SUITE's source index (private apt lists in $APT_DIR)"
apt-get -qq --error-on=any update >"$CACHE/apt-update.log" 2>&1 \
    || skip "cannot read Debian $SUITE's source index (no network to the registry?): see $CACHE/apt-update.log"
VERSION=$({ apt-cache showsrc git 2>/dev/null || true; } | sed -n 's/^Version: //p' | sort -V | tail -1)
[ -n "$VERSION" ] || skip "Debian $SUITE has no git source package in the index"
UPSTREAM=${VERSION#*:}; UPSTREAM=${UPSTREAM%%-*}
KEY=${VERSION#*:}   # no epoch: a ':' in a directory on PATH would split it
PREFIX=$CACHE/git-$KEY

if ! usable "$PREFIX/bin/git"; then
    # Build dependencies from the system's own (Debian 12) sources, only those missing.
    need=()
    for p in libcurl4-openssl-dev zlib1g-dev libexpat1-dev make gcc dpkg-dev xz-utils; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || skip "missing build dependencies: ${need[*]} (install them, or run as root)"
        say "installing build dependencies: ${need[*]}"
        { APT_CONFIG= apt-get update -qq && APT_CONFIG= DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${need[@]}"; } >"$CACHE/apt-install.log" 2>&1 \
            || skip "could not install ${need[*]}: see $CACHE/apt-install.log"
    fi

    WORK=$CACHE/build-$KEY
    rm -rf "$WORK"; mkdir -p "$WORK"
    say "fetching git $VERSION source from Debian $SUITE"
    (cd "$WORK" && apt-get -qq source "git=$VERSION") >"$CACHE/apt-source.log" 2>&1 \
        || skip "could not fetch git $VERSION source: see $CACHE/apt-source.log"
    SRC_DIR=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name "git-*" | head -1)
    [ -n "$SRC_DIR" ] || skip "unpacking git $VERSION source failed: see $CACHE/apt-source.log"

    jobs=$(nproc 2>/dev/null || echo 2); [ "$jobs" -le 2 ] || jobs=2
    say "building git $UPSTREAM with make -j$jobs into $PREFIX (one time, about 6 minutes on 2 cores; log: $CACHE/build.log)"
    start=$(date +%s)
    # What the suite needs: git, its http transport (curl), git-http-backend, git-daemon. No
    # docs, Tcl/Tk, Perl or Python parts. A calling make's MAKEFLAGS (e.g. `make test X=1`)
    # must not reach git's Makefile.
    if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SRC_DIR" -j"$jobs" prefix="$PREFIX" DESTDIR="$WORK/stage" \
            NO_TCLTK=1 NO_GETTEXT=1 NO_PERL=1 NO_PYTHON=1 NO_INSTALL_HARDLINKS=1 \
            INSTALL_SYMLINKS=1 V=1 all install >"$CACHE/build.log" 2>&1; then
        tail -20 "$CACHE/build.log" >&2
        skip "building git $VERSION failed: see $CACHE/build.log"
    fi
    rm -rf "$PREFIX"; mv "$WORK/stage$PREFIX" "$PREFIX"
    rm -rf "$WORK"
    say "built git $VERSION in $(( $(date +%s) - start )) s"
    usable "$PREFIX/bin/git" || skip "the built git at $PREFIX is not usable (no http support?): see $CACHE/build.log"
fi
ln -sfn "git-$KEY" "$CACHE/current"
echo "$PREFIX/bin/git"
