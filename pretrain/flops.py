"""Model FLOPs of one train step of each method, and the speed ratios they predict where the matrix
products dominate the step (GPUs of the V100 / H100 class at the paper's batch 128).

    python pretrain/flops.py [--batch_size=128] [--generator_hidden_size=1.0,0.25]

Counted, as `step_timing.electra_train_flops`: the projections, attention and FFN matmuls of every
layer that runs, the RTD heads and the MLM heads at the masked slots (a multiply-add is 2 FLOPs;
forward + backward ≈ 3 × forward). Not counted: softmax, LayerNorm, GELU, sampling, the optimizer.
Each method's count is one function below (`FLOP_MODELS`), read next to the method's module:

- electra: both towers, the RTD head, one MLM head;
- adaptive_exit_gen at exit j: generator layers ≤ ℓ_j and heads 1..j (`exit_heads` "all", each
  reading concat(h_ℓ1..h_ℓi) with `exit_concat`) or head j alone ("exit"); P-weighted over the exits;
- early_exit_disc at exit ℓ (a non-probe step): discriminator layers ≤ ℓ and the section heads up to
  it; the tied generator's layers all (default) or ≤ ℓ (`early_exit_generator`), one MLM head;
- emb_gen: the discriminator and a nearest-neighbour search of the slots' embeddings over the
  vocabulary (forward only); noise and unigram: the discriminator alone (their draws are not
  matrix products); mlm: one tower and one MLM head.

Shapes: B = batch, L = sequence length, N = masked slots, V = vocabulary, E = embedding size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from electra_tf import configs
from electra_tf.pretraining import registry

BACKWARD = 3.0  # forward + backward ≈ 3 × forward


def tower_flops(tower: configs.BertConfig, width: int, length: int, layers: int | None = None) -> float:
    """Forward FLOPs per token of the E→H projection (if any) and the first `layers` layers."""
    h, f = tower.hidden_size, tower.intermediate_size
    project = 2 * width * h if width != h else 0
    dense = 2 * (4 * h * h + 2 * h * f)
    attention = 2 * 2 * length * h  # QKᵀ and A·V
    return project + (tower.num_hidden_layers if layers is None else layers) * (dense + attention)


def mlm_head_flops(input_width: int, width: int, vocab: int) -> float:
    """Forward FLOPs per masked slot of an MLM head: the dense input→E, the E×V decoder."""
    return 2 * input_width * width + 2 * width * vocab


def rtd_head_flops(hidden: int) -> float:
    """Forward FLOPs per token of an RTD head: the dense H→H and the H→1 output."""
    return 2 * hidden * (hidden + 1)


class Counts:
    """The config's sizes: L, N, E, V and both towers."""

    def __init__(self, config: configs.PretrainingConfig):
        self.length, self.slots = config.max_seq_length, config.max_predictions_per_seq
        self.width = configs.embedding_size(config)
        self.disc, self.gen = configs.bert_config(config), configs.generator_config(config)
        self.vocab = self.disc.vocab_size
        self.hparams = registry.hparams_of(config)

    def disc_tokens(self, layers: int | None = None, heads: int = 1) -> float:
        return self.length * (
            tower_flops(self.disc, self.width, self.length, layers)
            + heads * rtd_head_flops(self.disc.hidden_size)
        )


def _electra(c: Counts, exit_layer=None) -> float:
    gen = c.length * tower_flops(c.gen, c.width, c.length)
    return BACKWARD * (c.disc_tokens() + gen + c.slots * mlm_head_flops(c.gen.hidden_size, c.width, c.vocab))


def _adaptive(c: Counts, exit_layer: int) -> float:
    hp, h = c.hparams, c.gen.hidden_size
    j = list(hp.exit_layers).index(exit_layer)
    heads = [j] if hp.exit_heads == "exit" else range(j + 1)
    head = sum(mlm_head_flops(h * (i + 1) if hp.exit_concat else h, c.width, c.vocab) for i in heads)
    gen = c.length * tower_flops(c.gen, c.width, c.length, exit_layer)
    return BACKWARD * (c.disc_tokens() + gen + c.slots * head)


def _early_exit(c: Counts, exit_layer: int) -> float:
    hp = c.hparams
    sections = list(hp.exit_layers).index(exit_layer) + 1
    gen_layers = exit_layer if hp.early_exit_generator else None
    gen = c.length * tower_flops(c.disc, c.width, c.length, gen_layers)
    head = c.slots * mlm_head_flops(c.disc.hidden_size, c.width, c.vocab)
    return BACKWARD * (c.disc_tokens(exit_layer, sections) + gen + head)


def _emb_gen(c: Counts, exit_layer=None) -> float:
    return BACKWARD * c.disc_tokens() + c.slots * 2 * c.width * c.vocab  # the search: forward only


def _noise(c: Counts, exit_layer=None) -> float:
    return BACKWARD * c.disc_tokens()


def _mlm(c: Counts, exit_layer=None) -> float:
    head = c.slots * mlm_head_flops(c.disc.hidden_size, c.width, c.vocab)
    return BACKWARD * (c.length * tower_flops(c.disc, c.width, c.length) + head)


FLOP_MODELS: dict[str, Callable[[Counts, int | None], float]] = {
    "electra": _electra,
    "adaptive_exit_gen": _adaptive,
    "early_exit_disc": _early_exit,
    "emb_gen": _emb_gen,
    "noise": _noise,
    "unigram": _noise,
    "mlm": _mlm,
}


def train_flops(config: configs.PretrainingConfig, batch_size: int, exit_layer: int | None = None) -> float:
    """Model FLOPs of one train step of `config`'s method (at `exit_layer` for an exit method)."""
    if config.method not in FLOP_MODELS:
        raise ValueError(f"no FLOP model for method {config.method!r}; models: {', '.join(FLOP_MODELS)}")
    return batch_size * FLOP_MODELS[config.method](Counts(config), exit_layer)


def expected_flops(config, batch_size: int, exit_shares: dict[int, float] | None = None) -> float:
    """Train FLOPs weighted by where the exits are (`exit_shares`: exit layer → share; an adaptive
    generator defaults to its initial P, an early-exit discriminator to its last layer)."""
    hp = registry.hparams_of(config)
    layers: Sequence[int] = getattr(hp, "exit_layers", ())
    if not layers:
        return train_flops(config, batch_size)
    if exit_shares is None:
        shares = getattr(hp, "adaptive_init_probs", None) or [0.0] * (len(layers) - 1) + [1.0]
        exit_shares = dict(zip(layers, shares, strict=True))
    return sum(share * train_flops(config, batch_size, n) for n, share in exit_shares.items())


PAPER_RATIOS = {"adaptive_exit_gen": 1.15, "early_exit_disc": 1.29, "emb_gen": 1.92}  # Table 1, V100


def predicted_rows(batch_size: int, generator_sizes: Sequence[float]) -> list[dict]:
    """ELECTRA-small (batch `batch_size`, seq 128): each method and reading, at its initial P (the
    adaptive generator), its exit pinned at 9 of 12 and every exit (early exit) → {label, gflops,
    ratio to electra at each generator size, paper's ratio}."""
    small = {"model_size": "small", "train_batch_size": batch_size, "max_seq_length": 128}

    def config(method: str, **extra):
        return configs.config_from_hparams("flops", "/nonexistent", {**small, "method": method, **extra})

    bases = {s: train_flops(config("electra", generator_hidden_size=s), batch_size) for s in generator_sizes}
    cases = [(f"electra (gen {s:g})", bases[s]) for s in generator_sizes]
    for method, readings in (
        ("adaptive_exit_gen", {"": {}, "exit_heads=exit": {"exit_heads": "exit"}}),
        ("early_exit_disc", {"": {}, "early_exit_generator": {"early_exit_generator": True}}),
    ):
        for reading, extra in readings.items():
            name = f"{method}[{reading}]" if reading else method
            for size in generator_sizes if method == "adaptive_exit_gen" else [None]:
                c = config(method, **extra, **({"generator_hidden_size": size} if size else {}))
                suffix = f" (gen {size:g})" if size else ""
                if method == "adaptive_exit_gen":
                    cases.append((f"{name}{suffix} at P₁", expected_flops(c, batch_size)))
                for n in (3, 6, 9, 12):
                    cases.append((f"{name}{suffix} at exit {n}", train_flops(c, batch_size, n)))
    cases.append(("emb_gen", train_flops(config("emb_gen"), batch_size)))
    rows = []
    for label, flops in cases:
        method = label.split(" ")[0].split("[")[0]
        row = {"label": label, "gflops": flops / 1e9, "paper_ratio": PAPER_RATIOS.get(method)}
        row.update({f"ratio_gen_{s:g}": bases[s] / flops for s in generator_sizes})
        rows.append(row)
    return rows


def markdown(rows: list[dict], generator_sizes: Sequence[float]) -> str:
    header = ["step", "GFLOP", *[f"predicted × electra (gen {s:g})" for s in generator_sizes], "paper (V100)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        ratios = [f"{r[f'ratio_gen_{s:g}']:.2f}×" for s in generator_sizes]
        paper = f"{r['paper_ratio']:.2f}×" if r["paper_ratio"] else "—"
        lines.append(f"| {r['label']} | {r['gflops']:.0f} | " + " | ".join(ratios) + f" | {paper} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Predicted speed ratios from model FLOPs (ELECTRA-small).")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--generator_hidden_size", default="1.0,0.25")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.generator_hidden_size.split(",") if s.strip()]
    print(markdown(predicted_rows(args.batch_size, sizes), sizes))


if __name__ == "__main__":
    main()
