"""Work units → sharded pre-training TFRecords, in parallel, reproducibly, all or nothing.

Every unit (a byte range of a text file, or an OpenWebText archive) is tokenized and packed
on its own, with a `random.Random` seeded by (seed, unit key); the main process writes the
results in unit order, example k of the whole run going to shard k mod num_shards. The
output therefore depends on the seed and the input only — not on `num_processes`.

Shards are written into a hidden temporary folder of `output_dir` and moved in only when the
whole corpus has succeeded; on any error the folder is removed and nothing is left behind.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import multiprocessing
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence

from electra_tf import atomic
from electra_tf.data import schema
from electra_tf.data.corpus import ReadStats
from electra_tf.data.packing import ExampleBuilder
from electra_tf.progress import ProgressMeter

TARGET_SHARD_BYTES = 150 << 20
TOKENIZE_BATCH_LINES = 4096


@dataclasses.dataclass
class UnitResult:
    """What one unit produced: serialized records and counters."""

    records: list[bytes]
    documents: int = 0
    lines: int = 0
    tokens: int = 0  # WordPiece tokens of the text (before packing and truncation)
    unk_tokens: int = 0
    replaced_chars: int = 0
    size: int = 0


@dataclasses.dataclass
class BuildSummary:
    documents: int = 0
    lines: int = 0
    tokens: int = 0
    unk_tokens: int = 0
    replaced_chars: int = 0
    examples: int = 0
    shards: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.tokens / max(self.seconds, 1e-9)
        unk = 100.0 * self.unk_tokens / max(self.tokens, 1)
        return (
            f"done: {self.documents:,} documents, {self.tokens:,} tokens ({unk:.3f}% [UNK]), "
            f"{self.examples:,} examples in {len(self.shards)} shard(s), "
            f"{self.replaced_chars:,} undecodable bytes replaced, "
            f"{self.seconds:.1f}s ({rate:,.0f} tokens/s)"
        )

    def add(self, result: UnitResult) -> None:
        for name in ("documents", "lines", "tokens", "unk_tokens", "replaced_chars"):
            setattr(self, name, getattr(self, name) + getattr(result, name))
        self.examples += len(result.records)


@dataclasses.dataclass(frozen=True)
class PackingConfig:
    vocab: tuple[str, ...]
    max_seq_length: int = 128
    do_lower_case: bool = True
    seed: int = 12345


class UnitProcessor:
    """Tokenizes and packs one unit at a time (one per process)."""

    def __init__(self, config: PackingConfig):
        from electra_tf.tokenization import FullTokenizer

        self.config = config
        self.tokenizer = FullTokenizer(config.vocab, do_lower_case=config.do_lower_case)
        self.cls_id = self.tokenizer.token_to_id["[CLS]"]
        self.sep_id = self.tokenizer.token_to_id["[SEP]"]

    def __call__(self, unit) -> UnitResult:
        cfg = self.config
        builder = ExampleBuilder(cfg.max_seq_length, random.Random(f"{cfg.seed}:{unit.key}"))
        stats = ReadStats()
        result = UnitResult(records=[], size=unit.size)
        for doc_ids in self._tokenized_documents(unit.documents(stats), result):
            for first, second in builder.add_document(doc_ids):
                features = schema.example_features(
                    first, second, cfg.max_seq_length, self.cls_id, self.sep_id
                )
                result.records.append(schema.serialize_example(features))
        result.replaced_chars = stats.replaced_chars
        return result

    def _tokenized_documents(self, documents: Iterator[list[str]], result: UnitResult):
        """Documents (lists of lines) → lists of token-id lists, tokenized in large batches."""
        batch: list[list[str]] = []
        n_lines = 0
        for doc in documents:
            batch.append(doc)
            n_lines += len(doc)
            if n_lines >= TOKENIZE_BATCH_LINES:
                yield from self._tokenize_batch(batch, result)
                batch, n_lines = [], 0
        yield from self._tokenize_batch(batch, result)

    def _tokenize_batch(self, docs: list[list[str]], result: UnitResult):
        ids = self.tokenizer.tokenize_to_ids([line for doc in docs for line in doc])
        unk = self.tokenizer.unk_id
        pos = 0
        for doc in docs:
            doc_ids = ids[pos : pos + len(doc)]
            pos += len(doc)
            result.documents += 1
            result.lines += len(doc)
            result.tokens += sum(len(s) for s in doc_ids)
            result.unk_tokens += sum(s.count(unk) for s in doc_ids)
            yield doc_ids


_worker: UnitProcessor | None = None


def _init_worker(config: PackingConfig) -> None:
    global _worker
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _worker = UnitProcessor(config)


def _run_in_worker(unit) -> UnitResult:
    return _worker(unit)


def _ordered_results(units: Iterable, config: PackingConfig, num_processes: int) -> Iterator[UnitResult]:
    """Processes units, yielding results in unit order, at most 2·num_processes in flight."""
    if num_processes <= 1:
        processor = UnitProcessor(config)
        for unit in units:
            yield processor(unit)
        return
    ctx = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    with ctx.Pool(num_processes, initializer=_init_worker, initargs=(config,)) as pool:
        pending: collections.deque = collections.deque()
        for unit in units:
            pending.append(pool.apply_async(_run_in_worker, (unit,)))
            while len(pending) >= 2 * num_processes:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def auto_num_out_files(estimated_output_bytes: int) -> int:
    """Shard count giving ~150 MB shards (at least one)."""
    return max(1, math.ceil(estimated_output_bytes / TARGET_SHARD_BYTES))


def build_records(
    units: Iterable,
    total_size: int,
    config: PackingConfig,
    output_dir: str,
    num_out_files: int,
    num_processes: int = 1,
    extra_files: dict[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> BuildSummary:
    """Writes `pretrain_data.tfrecord-XXXXX-of-YYYYY` shards (and `extra_files`) to `output_dir`.

    Args:
      units: work units with `.key`, `.size` and `.documents(stats)`, in output order.
      total_size: sum of the units' sizes (for progress and ETA).
      extra_files: name → text, written beside the shards on success (e.g. `vocab.txt`).

    Raises:
      ValueError: no example could be built. Any error leaves `output_dir` as it was.
    """
    import tensorflow as tf

    created_dir = not os.path.isdir(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".pretrain_data.tmp-", dir=output_dir)
    names = [schema.shard_name(i, num_out_files) for i in range(num_out_files)]
    writers = [tf.io.TFRecordWriter(os.path.join(tmp_dir, n)) for n in names]
    summary = BuildSummary(shards=[os.path.join(output_dir, n) for n in names])
    meter = ProgressMeter(total_size, log=log)
    try:
        for result in _ordered_results(units, config, num_processes):
            for i, record in enumerate(result.records, start=summary.examples):
                writers[i % num_out_files].write(record)
            summary.add(result)
            meter.advance(
                result.size,
                f"{summary.documents:,} docs | {summary.tokens:,} tokens | {summary.examples:,} examples",
                rate_of=("tokens", summary.tokens),
            )
        for w in writers:
            w.close()
        if summary.examples == 0:
            raise ValueError("no examples were built: the corpus has no text lines")
        _publish(tmp_dir, output_dir, names, extra_files or {})
    except BaseException:
        for w in writers:
            w.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if created_dir and not os.listdir(output_dir):
            os.rmdir(output_dir)
        raise
    summary.seconds = meter.elapsed()
    return summary


def _publish(tmp_dir: str, output_dir: str, names: Sequence[str], extra_files: dict[str, str]) -> None:
    """Replaces any earlier shards in `output_dir` by the new ones."""
    for extra, text in extra_files.items():
        with open(os.path.join(tmp_dir, extra), "w", encoding="utf-8") as f:
            f.write(text)
    for old in os.listdir(output_dir):
        if old.startswith(schema.RECORD_PREFIX + "-"):
            os.remove(os.path.join(output_dir, old))
    atomic.publish([(os.path.join(tmp_dir, n), os.path.join(output_dir, n)) for n in [*names, *extra_files]])
    os.rmdir(tmp_dir)
