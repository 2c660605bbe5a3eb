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


def define_packing_flags() -> None:
    """The flags both record-building tools in `data_prep/` share, each the name of a keyword of
    their `run` (defined only when a tool runs as a program)."""
    from absl import flags

    flags.DEFINE_integer("max_seq_length", 128, "Tokens per example, including [CLS] and [SEP]s.")
    flags.DEFINE_integer("num_processes", 1, "Worker processes for tokenization and packing.")
    flags.DEFINE_bool("do_lower_case", True, "Lower-case and strip accents (uncased vocabularies).")
    flags.DEFINE_integer("seed", 12345, "Seed of the packing randomness; same seed, same output.")
    flags.DEFINE_integer("num_out_files", 0, "Output shards; 0 = one per ~150 MB of records.")


class ToolExit(Exception):
    """A tool's planned stop with its own exit code (e.g. a run stopped by SIGTERM after writing a
    checkpoint): one `<program>: <message>` line on stderr, then exit `code`."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def exit_on_bad_input(program: str, body: Callable[[], None]) -> None:
    """Runs `body()`; expected input errors (ValueError and its kinds: ConfigError, CorpusError,
    VocabError, CheckpointError, ...; OSError) become one `<program>: error: ...` line on stderr and
    exit status 1, a `ToolExit` its line and code, Ctrl-C a one-line note and status 130."""
    try:
        body()
    except ToolExit as e:
        print(f"{program}: {e}", file=sys.stderr, flush=True)
        sys.exit(e.code)
    except (ValueError, OSError) as e:
        print(f"{program}: error: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{program}: interrupted; no output written", file=sys.stderr, flush=True)
        sys.exit(130)


def absl_main(
    program: str, body: Callable[..., None], positional_args: bool = False
) -> Callable[[list[str]], None]:
    """A `main(argv)` for `absl.app.run` that runs `body()` with the tools' conventions.

    Positional arguments go to `body(args)` when `positional_args`, else they are one error line.
    Expected input errors become one line and exit status 1 (`exit_on_bad_input`); progress goes to
    stdout, so absl's and TensorFlow's Python loggers are limited to warnings and errors.
    """

    def main(argv: list[str]) -> None:
        args = argv[1:]
        if args and not positional_args:
            print(f"{program}: error: unexpected arguments {' '.join(args)}", file=sys.stderr)
            sys.exit(1)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from absl import logging

        logging.set_verbosity(logging.WARNING)
        py_logging.getLogger("tensorflow").setLevel(py_logging.ERROR)  # e.g. tf.function retracing notes
        exit_on_bad_input(program, (lambda: body(args)) if positional_args else body)

    return main
