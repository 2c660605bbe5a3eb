"""The `main(argv)` that every absl command-line tool of electra-tf shares.

Imports nothing heavy at module level, so TF_CPP_MIN_LOG_LEVEL is set before TensorFlow loads.
"""

from __future__ import annotations

import inspect
import logging as py_logging
import os
import sys
from collections.abc import Callable


def flag_values(run: Callable[..., object], **given: object) -> dict[str, object]:
    """The keyword arguments of a tool's `run(...)` from absl's parsed flags of the same names
    (each tool's flags mirror its `run`); `given` supplies those that are not flags, e.g. the
    positional arguments. Only `main` calls this: `run` itself never reads absl flags."""
    from absl import flags

    names = [name for name in inspect.signature(run).parameters if name not in given]
    return {**given, **{name: flags.FLAGS[name].value for name in names}}


def absl_main(program: str, body: Callable[[], None]) -> Callable[[list[str]], None]:
    """A `main(argv)` for `absl.app.run` that runs `body()` with the tools' conventions.

    Stray positional arguments and expected input errors (ValueError, OSError, ...) become one
    `<program>: error: ...` line on stderr and exit status 1; progress goes to stdout, so absl's
    and TensorFlow's Python loggers are limited to warnings and errors.
    """

    def main(argv: list[str]) -> None:
        if len(argv) > 1:
            print(f"{program}: error: unexpected arguments {' '.join(argv[1:])}", file=sys.stderr)
            sys.exit(1)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from absl import logging

        from electra_tf.data.cli import exit_on_bad_input

        logging.set_verbosity(logging.WARNING)
        py_logging.getLogger("tensorflow").setLevel(py_logging.ERROR)  # e.g. tf.function retracing notes
        exit_on_bad_input(program, body)

    return main
