"""The console script as a process: what a person at a terminal sees."""

from __future__ import annotations

import subprocess
import sys


def test_demo_piped_into_head_stops_quietly_without_a_traceback() -> None:
    script = (
        "import sys\n"
        "from adapters.cli.main import main\n"
        "sys.exit(main(['demo', '--transport', 'memory']))\n"
    )
    demo = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert demo.stdout is not None
    first_line = demo.stdout.readline()
    demo.stdout.close()  # the reader goes away, as `| head -1` does
    _, stderr = demo.communicate(timeout=60)

    assert first_line.startswith(b"CareSupport demo")
    assert b"" == stderr
    # 141 when the demo was still writing as the reader left; 0 when it had finished.
    assert demo.returncode in (0, 141)


def test_library_warnings_do_not_reach_stderr_unless_the_application_configures_logging() -> None:
    script = (
        "import logging, caresupport_transport\n"
        "logging.getLogger('caresupport_transport.linq').warning('GET /v3/chats -> 404')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=True
    )

    assert b"" == done.stderr
