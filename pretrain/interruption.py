"""Stopping a run cleanly: SIGTERM (what preemptible VMs and cluster schedulers send first) and
SIGINT (Ctrl-C) only set a flag; the trainer finishes the step it is in, writes a checkpoint and
raises `Interrupted`, whose exit code the command line returns.

Exit codes (docs/pretraining.md, "Preemption"): 75 after SIGTERM (sysexits' EX_TEMPFAIL: a
checkpoint was written, rerun the same command to resume), 130 after SIGINT (the shell's code for
Ctrl-C), 3 when a non-finite loss stopped the run (`NonFiniteLoss`).
"""

from __future__ import annotations

import signal
import threading

from electra_tf.cli import ToolExit

EXIT_CODES = {signal.SIGTERM: 75, signal.SIGINT: 130}
NON_FINITE_EXIT_CODE = 3


class Interrupted(ToolExit):
    """The run stopped on a signal after writing a checkpoint."""


class NonFiniteLoss(ToolExit):
    """A loss or the gradient norm was not finite; nothing of that step was written."""

    def __init__(self, message: str):
        super().__init__(message, NON_FINITE_EXIT_CODE)


class StopRequests:
    """`with StopRequests() as stop:` — while inside, SIGTERM and SIGINT set `stop.signal` instead
    of ending the process (a second one gets the previous handler, e.g. to abort a stuck step); the
    previous handlers come back on exit. Outside the main thread
    (where Python cannot install handlers) it installs none and `stop.signal` stays None."""

    def __init__(self):
        self.signal: signal.Signals | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:  # a second request: the previous handler (e.g. end the process)
            self.__exit__()
            signal.raise_signal(signum)
            return
        self.signal = signal.Signals(signum)

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in EXIT_CODES:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def interrupted(self, step: int, checkpoint: str) -> Interrupted:
        """The exception that ends the run after the checkpoint at `step` was written."""
        name = self.signal.name if self.signal else "a stop request"
        return Interrupted(
            f"stopped by {name} after step {step}; checkpoint {checkpoint} written; "
            "rerun the same command to resume",
            EXIT_CODES.get(self.signal, 75),
        )
