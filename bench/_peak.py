"""Peak resident memory of a benchmark's child process.

The child reports its own high-water mark (``VmHWM`` from ``/proc/self/status``) at exit:
``ru_maxrss`` of a child would also keep the resident size of the parent it was forked from
(the big seeding process) from before ``exec``.
"""

from __future__ import annotations

#: Python source to put first in a child's ``-c`` program: at exit it writes ``peak-kb N``.
PRELUDE = """
import atexit, resource, sys
def _peak():
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\npeak-kb {kb}\\n")
atexit.register(_peak)
"""

#: A child that runs the ``publisher`` CLI with its arguments, reporting its peak.
CLI = PRELUDE + """
sys.argv[0] = "publisher"
from publisher.cli import main
main()
"""


def peak_mb(stderr: str) -> float:
    """The peak the child reported, in MB (NaN when it reported none)."""
    reported = [int(line.split()[1]) for line in stderr.splitlines()
                if line.startswith("peak-kb ")]
    return reported[-1] / 1024 if reported else float("nan")
