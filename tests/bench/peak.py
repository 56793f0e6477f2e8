"""``python peak.py FILE CMD...``: run CMD, exit with its status, and append to FILE the
peak resident memory of CMD (the largest of it and the children it waited for), in KiB,
as ``wait4`` reports it (the benchmark's ``show-rss-100k`` row)."""
import os
import subprocess
import sys


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(argv)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out, "a") as f:
        f.write(f"{usage.ru_maxrss}\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
