"""Shared pieces of the `data_prep/` command-line tools (flag checks and the build with its summary)."""

from __future__ import annotations

import os

from electra_tf.data.build import PackingConfig, build_records

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
