"""Independent Hugging Face `transformers` (PyTorch) GLUE fine-tuning reference.

This is the reference that electra-tf's `scripts/validate_finetuning.py` is compared against: it
fine-tunes a Hugging Face BERT directory (config.json with model_type bert, model.safetensors,
tokenizer.json) on GLUE with plain torch + transformers and imports nothing from electra-tf. It
needs torch and transformers (plus numpy, scipy, scikit-learn), which electra-tf itself does not
depend on, so run it with a separate interpreter, e.g.

    /work/hfref/bin/python scripts/hf_reference_finetune.py --model_dir=DIR --glue_dir=DIR \
        --tasks=cola,sst2,mrpc,stsb,rte --num_trials=3 --output=results.json

Hparams (fixed): model = BertModel (no pooler) -> final hidden state of [CLS] (position 0) ->
dropout(hidden_dropout_prob) -> nn.Linear(hidden, C) (C=1 for STS-B), head init as transformers
initialises BERT Linears (weight ~ N(0, initializer_range^2), bias 0). Loss: mean cross-entropy;
STS-B: mean squared error against score / 5. torch.optim.AdamW(lr=1e-4, betas=(0.9, 0.999),
eps=1e-6, weight_decay=0.01, bias correction on), no weight decay on biases and LayerNorm weights
(as the HF Trainer); get_linear_schedule_with_warmup with ceil(0.1 * T) warm-up steps (as the HF
Trainer's warmup_ratio), T = ceil(N / 32) * 3; gradient clipping to global norm 1.0; 3 epochs,
batch 32, last partial batch kept, reshuffled every epoch with a seeded torch.Generator; max length
128 (truncation longest_first), dynamic padding per batch. Eval on dev, batch 64, model.eval().
Trial k (1-based) uses seed + k - 1 for torch, numpy and random. Metrics in percent: CoLA Matthews
corr, SST-2 acc, MRPC F1 and acc (score = their mean), STS-B Pearson and Spearman (score = their
mean), RTE acc. The final table shows the median ± std (np.std, ddof=0) of the score over trials.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import transformers
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from torch import nn
from transformers import AutoTokenizer, BertModel, get_linear_schedule_with_warmup

HPARAMS = {
    "learning_rate": 1e-4,
    "num_epochs": 3,
    "train_batch_size": 32,
    "eval_batch_size": 64,
    "max_seq_length": 128,
    "weight_decay": 0.01,
    "adam_eps": 1e-6,
    "adam_betas": [0.9, 0.999],
    "warmup_ratio": 0.1,
    "max_grad_norm": 1.0,
}
# task -> (folder, header?, text_a column, text_b column or None, label column, label list or None)
TASKS = {
    "cola": ("CoLA", False, 3, None, 1, ["0", "1"]),
    "sst2": ("SST-2", True, 0, None, -1, ["0", "1"]),
    "mrpc": ("MRPC", True, 3, 4, 0, ["0", "1"]),
    "stsb": ("STS-B", True, 7, 8, -1, None),
    "rte": ("RTE", True, 1, 2, -1, ["entailment", "not_entailment"]),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_glue(glue_dir, task, split):
    """Returns (texts_a, texts_b or None, labels) from <folder>/<split>.tsv, split('\\t') per line."""
    folder, header, col_a, col_b, col_label, labels = TASKS[task]
    with open(os.path.join(glue_dir, folder, f"{split}.tsv"), encoding="utf-8-sig") as f:
        # split("\n"), not splitlines(): some GLUE sentences contain U+2028/U+0085 characters
        lines = [line.rstrip("\r") for line in f.read().split("\n") if line.strip()]
    rows = [line.split("\t") for line in lines[1 if header else 0 :]]
    texts_a = [r[col_a] for r in rows]
    texts_b = [r[col_b] for r in rows] if col_b is not None else None
    ys = [float(r[col_label]) if labels is None else labels.index(r[col_label]) for r in rows]
    return texts_a, texts_b, ys


def metrics(task, preds, golds):
    """Dev metrics in percent plus "score", the task's single number."""
    if task == "stsb":
        m = {"pearson": 100 * pearsonr(preds, golds)[0], "spearman": 100 * spearmanr(preds, golds)[0]}
        m["score"] = (m["pearson"] + m["spearman"]) / 2
    elif task == "mrpc":
        m = {"f1": 100 * f1_score(golds, preds), "accuracy": 100 * accuracy_score(golds, preds)}
        m["score"] = (m["f1"] + m["accuracy"]) / 2
    elif task == "cola":
        m = {"mcc": 100 * matthews_corrcoef(golds, preds)}
        m["score"] = m["mcc"]
    else:
        m = {"accuracy": 100 * accuracy_score(golds, preds)}
        m["score"] = m["accuracy"]
    return {k: float(v) for k, v in m.items()}


class Classifier(nn.Module):
    def __init__(self, model_dir, num_outputs):
        super().__init__()
        self.bert = BertModel.from_pretrained(model_dir, add_pooling_layer=False)
        cfg = self.bert.config
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)
        self.head = nn.Linear(cfg.hidden_size, num_outputs)
        nn.init.normal_(self.head.weight, mean=0.0, std=cfg.initializer_range)  # BertPreTrainedModel init
        nn.init.zeros_(self.head.bias)

    def forward(self, batch):
        hidden = self.bert(**batch).last_hidden_state[:, 0]
        return self.head(self.dropout(hidden))


def batches(tokenizer, encodings, ys, indices, batch_size):
    for start in range(0, len(indices), batch_size):
        idx = indices[start : start + batch_size]
        batch = tokenizer.pad([encodings[i] for i in idx], padding=True, return_tensors="pt")
        yield dict(batch), torch.tensor([ys[i] for i in idx])


def run_trial(args, task, seed, tokenizer, train, dev):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    regression = TASKS[task][5] is None
    model = Classifier(args.model_dir, 1 if regression else len(TASKS[task][5]))
    no_decay = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    no_decay |= {id(p) for n, p in model.named_parameters() if n.endswith("bias")}
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if id(p) not in no_decay], "weight_decay": HPARAMS["weight_decay"]},
        {"params": [p for p in params if id(p) in no_decay], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(
        groups, lr=HPARAMS["learning_rate"], betas=tuple(HPARAMS["adam_betas"]), eps=HPARAMS["adam_eps"]
    )
    n, bs, epochs = len(train[1]), HPARAMS["train_batch_size"], HPARAMS["num_epochs"]
    total = math.ceil(n / bs) * epochs
    warmup = math.ceil(HPARAMS["warmup_ratio"] * total)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
    loss_fn = nn.MSELoss() if regression else nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)

    model.train()
    step, seen, t0 = 0, 0, time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).tolist()
        for batch, y in batches(tokenizer, train[0], train[1], order, bs):
            out = model(batch)
            loss = loss_fn(out.squeeze(-1), y.float() / 5.0) if regression else loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, HPARAMS["max_grad_norm"])
            optimizer.step()
            scheduler.step()
            step, seen = step + 1, seen + len(y)
            if step % 50 == 0 or step == total:
                elapsed = time.perf_counter() - t0
                rate = step / elapsed
                log(
                    f"  {task} seed={seed} step {step}/{total} loss={loss.item():.4f} "
                    f"{rate:.2f} steps/s ETA {(total - step) / rate:.0f}s"
                )
    train_seconds = time.perf_counter() - t0

    model.eval()
    preds = []
    with torch.no_grad():
        for batch, _ in batches(
            tokenizer, dev[0], dev[1], list(range(len(dev[1]))), HPARAMS["eval_batch_size"]
        ):
            out = model(batch)
            preds.extend((out.squeeze(-1) * 5.0).tolist() if regression else out.argmax(-1).tolist())
    return {
        "seed": seed,
        "metrics": metrics(task, preds, dev[1]),
        "train_seconds": train_seconds,
        "train_examples_per_second": seen / train_seconds,
        "train_examples": n,
        "train_steps": total,
        "torch_threads": torch.get_num_threads(),
    }


def encode(tokenizer, texts_a, texts_b, ys):
    enc = tokenizer(
        texts_a, texts_b, truncation="longest_first", max_length=HPARAMS["max_seq_length"], padding=False
    )
    return [{k: enc[k][i] for k in enc} for i in range(len(ys))], ys


def save(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model_dir", required=True, help="Hugging Face BERT directory")
    parser.add_argument("--glue_dir", required=True, help="directory holding CoLA, SST-2, MRPC, STS-B, RTE")
    parser.add_argument("--tasks", default="cola,sst2,mrpc,stsb,rte")
    parser.add_argument("--num_trials", type=int, default=3)
    parser.add_argument("--output", required=True, help="results JSON (written after every trial; resumed)")
    parser.add_argument("--max_train_examples", type=int, default=0, help="first N train examples (0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="trial k uses seed + k - 1")
    parser.add_argument("--torch_threads", type=int, default=2)
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if unknown := [t for t in tasks if t not in TASKS]:
        parser.error(f"unknown tasks {unknown}; choose from {list(TASKS)}")
    torch.set_num_threads(args.torch_threads)
    transformers.utils.logging.disable_progress_bar()

    settings = {
        "model_dir": os.path.abspath(args.model_dir),
        "glue_dir": os.path.abspath(args.glue_dir),
        "max_train_examples": args.max_train_examples,
        "seed": args.seed,
        "hparams": HPARAMS,
    }
    data = {"settings": settings, "results": {}}
    if os.path.exists(args.output):
        with open(args.output) as f:
            previous = json.load(f)
        if previous.get("settings") != settings:
            sys.exit(
                f"{args.output} holds results for other settings {previous.get('settings')}; "
                "use another --output"
            )
        data = previous
    data["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    for task in tasks:
        done = data["results"].setdefault(task, {})
        todo = [k for k in range(1, args.num_trials + 1) if str(k) not in done]
        if not todo:
            continue
        texts_a, texts_b, ys = read_glue(args.glue_dir, task, "train")
        if args.max_train_examples > 0:
            texts_a, ys = texts_a[: args.max_train_examples], ys[: args.max_train_examples]
            texts_b = texts_b[: args.max_train_examples] if texts_b is not None else None
        train = encode(tokenizer, texts_a, texts_b, ys)
        dev = encode(tokenizer, *read_glue(args.glue_dir, task, "dev"))
        for k in todo:
            log(f"{task} trial {k}/{args.num_trials}: {len(train[1])} train, {len(dev[1])} dev examples")
            result = run_trial(args, task, args.seed + k - 1, tokenizer, train, dev)
            m = ", ".join(f"{name}={v:.2f}" for name, v in result["metrics"].items())
            log(f"{task} trial {k}: {m} ({result['train_examples_per_second']:.1f} train examples/s)")
            done[str(k)] = result
            save(args.output, data)

    print(f"{'task':<6} | {'score median ± std':<20} | train examples/s")
    for task in tasks:
        done = data["results"].get(task, {})
        trials = [done[str(k)] for k in range(1, args.num_trials + 1) if str(k) in done]
        if not trials:
            continue
        scores = [t["metrics"]["score"] for t in trials]
        rate = np.median([t["train_examples_per_second"] for t in trials])
        cell = f"{np.median(scores):.2f} ± {np.std(scores):.2f} (n={len(scores)})"
        print(f"{task:<6} | {cell:<20} | {rate:.1f}")


if __name__ == "__main__":
    main()
