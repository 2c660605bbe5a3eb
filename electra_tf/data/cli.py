"""Shared pieces of the `data_prep/` command-line tools (flag checks, vocab, errors)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from electra_tf.data.build import PackingConfig, build_records
from electra_tf.data.corpus import CorpusError
from electra_tf.tokenization import VocabError

MIN_SEQ_LENGTH = 8


def check_common_flags(max_seq_length: int, num_processes: int, num_out_files: int) -> None:
    if max_seq_length < MIN_SEQ_LENGTH:
        raise ValueError(f"--max_seq_length must be at least {MIN_SEQ_LENGTH}, got {max_seq_length}")
    if num_processes < 1:
        raise ValueError(f"--num_processes must be at least 1, got {num_processes}")
    if num_out_files < 0:
        raise ValueError(f"--num_out_files must be 0 (auto) or positive, got {num_out_files}")


def run_build(
    units,
    total_size: int,
    config: PackingConfig,
    output_dir: str,
    num_out_files: int,
    num_processes: int,
    extra_files: dict[str, str] | None = None,
) -> None:
    """Builds the records and prints the summary line."""
    summary = build_records(
        units,
        total_size,
        config,
        output_dir,
        num_out_files,
        num_processes,
        extra_files,
        log=lambda line: print(line, flush=True),
    )
    print(summary.line(), flush=True)
    print(f"wrote {len(summary.shards)} shard(s) to {os.path.abspath(output_dir)}", flush=True)


def exit_on_bad_input(program: str, main: Callable[[], None]) -> None:
    """Runs `main`; expected input errors become one line on stderr and exit status 1."""
    try:
        main()
    except (CorpusError, VocabError, ValueError, OSError) as e:
        print(f"{program}: error: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{program}: interrupted; no output written", file=sys.stderr, flush=True)
        sys.exit(130)
