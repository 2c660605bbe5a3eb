"""One writer per model dir: a run holds an exclusive `flock` on `<model_dir>/.run.lock` while it
trains, so a second run on the same dir is refused with the holder's pid, host and start time.

The kernel drops a `flock` when its process dies, however it dies (SIGKILL, OOM, power loss of a
local disk's host), so a lock file left by a killed run never blocks: the next run takes it and
says whose it was. `flock` works on local file systems; on network file systems that do not
support it the lock is advisory at best (docs/pretraining.md, "One run per model dir").
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

LOCK_FILE = ".run.lock"


class ModelDirInUse(ValueError):
    """Another live process holds the model dir's lock."""


class ModelDirLock:
    """`with ModelDirLock(model_dir, log):` holds the lock for the block (created if missing)."""

    def __init__(self, model_dir: str, log=print):
        self.path = os.path.join(model_dir, LOCK_FILE)
        self.log = log
        self._file = None

    def __enter__(self) -> ModelDirLock:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open while the lock is)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(f)
            f.close()
            raise ModelDirInUse(
                f"model dir {os.path.dirname(self.path)} is in use by pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')} since {holder.get('started', '?')} ({self.path}); "
                "stop that run or choose another --model_name"
            ) from None
        previous = _read(f)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            self.log(
                f"note: took over {self.path} from pid {previous['pid']} on {previous.get('host', '?')}, "
                "which no longer holds it (a run that was killed)"
            )
        f.seek(0)
        f.truncate()
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        f.write(json.dumps(holder) + "\n")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc) -> None:
        if self._file is None:
            return
        folder = os.path.dirname(self.path)
        if os.listdir(folder) == [LOCK_FILE]:  # the run wrote nothing (e.g. bad input): leave no trace
            os.remove(self.path)
            os.rmdir(folder)
        else:
            self._file.seek(0)
            self._file.truncate()  # released: no holder named
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def _read(f) -> dict:
    """The holder recorded in the open lock file, {} if none or unreadable."""
    f.seek(0)
    try:
        return json.loads(f.read() or "{}")
    except ValueError:
        return {}
