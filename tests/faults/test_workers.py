"""Pool workers end with their parent, even when the parent is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from hqseg.data.parallel import bounded_map

    def slow(x):
        os.write(1, f"{os.getpid()}\\n".encode())  # one write: no interleaving
        time.sleep(60)
        return x

    if __name__ == "__main__":
        for _ in bounded_map(slow, range(4), workers=2, chunksize=1):
            pass
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def test_workers_end_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers: set[int] = set()
    while len(workers) < 2:
        line = proc.stdout.readline()
        assert line, "the pool script ended before both workers started"
        if line.strip().isdigit():
            workers.add(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]


AFTER_OPENCV_THREADS = textwrap.dedent(
    """
    import cv2, numpy as np
    from hqseg.data.parallel import bounded_map
    from hqseg.data.pixels import worker_init

    def shrink(seed):
        img = np.random.default_rng(seed).integers(0, 255, (1200, 1200), np.uint8)
        return int(cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA).sum())

    if __name__ == "__main__":
        big = np.zeros((3000, 3000, 3), np.uint8)
        for _ in range(3):  # OpenCV's thread pool is now running in this process
            cv2.GaussianBlur(big, (31, 31), 5)
        print(list(bounded_map(shrink, range(4), workers=2, chunksize=1, initializer=worker_init)))
    """
)


def test_pool_after_opencv_threads_does_not_hang(tmp_path):
    """A plain fork here copied OpenCV's busy thread pool; the workers hung for ever in
    cv2.setNumThreads. Workers now start from a clean fork server."""
    script = tmp_path / "after_cv2.py"
    script.write_text(AFTER_OPENCV_THREADS)
    try:
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("the pool hung after OpenCV had used its threads") from None
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("[") and len(eval(out.stdout)) == 4
