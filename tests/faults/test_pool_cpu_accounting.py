"""Pool workers' CPU time reaches the OS accounting of the command (what ``time`` shows).

Workers are forked by a fork server, so they are its children, not the command's; the
command sees their CPU only after reaping the server (:func:`reap_fork_server`).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    from hqseg.utils.procs import WorkerInit, pool_context, reap_fork_server

    def burn(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        return seconds

    if __name__ == "__main__":
        with pool_context().Pool(2, initializer=WorkerInit()) as pool:
            pool.map(burn, [0.3, 0.3], chunksize=1)
        if sys.argv[1] == "reap":
            reap_fork_server()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(kids.ru_utime + kids.ru_stime)
    """
)


def _children_cpu(tmp_path, mode: str) -> float:
    script = tmp_path / "pool_cpu.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server on Linux only")
def test_reaped_pool_cpu_is_counted(tmp_path):
    # 0.6 s burned in the workers; clock ticks are 10 ms, so 0.5 leaves room
    assert _children_cpu(tmp_path, "reap") >= 0.5
    # without the reap the command's own accounting misses them (the case it fixes)
    assert _children_cpu(tmp_path, "keep") < 0.5
