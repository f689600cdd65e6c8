"""gunicorn's settings for the explorer, read by ``gunicorn`` started from this folder (its
default ``-c ./gunicorn.conf.py``); the command line's flags (README) come on top.

ONNX Runtime cannot cross a fork: once the master has imported it (``--preload`` loads the app,
whose query encoder runs on ONNX Runtime), a forked worker's own exit runs ONNX Runtime's native
exit handlers on thread state that belongs to the master, and the worker hangs or aborts
(``std::system_error``, SIGABRT; measured with onnxruntime 1.32, where a bare ``import
onnxruntime`` before ``os.fork()`` is enough). A worker has nothing left to do once gunicorn logs
« Worker exiting »: requests answered, sockets closed. It then leaves with its own exit status
after flushing its logs, without the native exit handlers (``tests/test_faults.py``).
"""

import contextlib
import logging
import os
import sys


def worker_exit(server, worker):
    """Called in the worker at its end (and in the master for a worker already gone: nothing
    then). The status is the one gunicorn's ``sys.exit`` is raising (0, or 3 for a boot error)."""
    if worker.pid != os.getpid() or "onnxruntime" not in sys.modules:
        return
    pending = sys.exc_info()[1]
    code = pending.code if isinstance(pending, SystemExit) else 1
    status = code if isinstance(code, int) else (0 if code is None else 1)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream: nothing more to save
            stream.flush()
    os._exit(status & 0xFF)
