"""The report's plots (matplotlib, Agg): figure4.png (the adaptive generator's per-exit RTD
accuracy and P over steps), early_exit.png (the early-exit discriminator's section accuracies,
threshold and exit layer) and curves.png (every row's disc AUC, unigram AUC and MLM accuracy)."""

from __future__ import annotations

import os


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _line(ax, points, **kwargs) -> bool:
    if not points:
        return False
    steps, values = zip(*points, strict=True)
    ax.plot(steps, values, marker=".", **kwargs)
    return True


def _finish(axes) -> None:
    """Step on x, a light grid and a legend on each of `axes`."""
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)


def _save(fig, path: str) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    _pyplot().close(fig)


def _run_with(curves: dict[str, dict], prefix: str) -> tuple[str, dict] | None:
    return next(
        ((label, run) for label, run in curves.items() if any(t.startswith(prefix) for t in run)), None
    )


def figure4(curves: dict[str, dict], titles: dict[str, str], exit_layers, path: str) -> bool:
    found = _run_with(curves, "adaptive/")
    if not found:
        return False
    label, run = found
    plt = _pyplot()
    fig, (acc, probs) = plt.subplots(1, 2, figsize=(11, 4))
    for n in exit_layers:
        _line(acc, run.get(f"adaptive/rtd_acc_exit_{n}"), label=f"exit {n}")
        _line(probs, run.get(f"adaptive/p_{n}"), label=f"P(exit {n})")
    acc.set_title(f"{titles.get(label, label)}: RTD accuracy of each exit's replacements")
    probs.set_title("exit probabilities P")
    _finish((acc, probs))
    _save(fig, path)
    return True


def early_exit(curves: dict[str, dict], titles: dict[str, str], exit_layers, path: str) -> bool:
    found = _run_with(curves, "early_exit/")
    if not found:
        return False
    label, run = found
    plt = _pyplot()
    fig, (acc, layer) = plt.subplots(1, 2, figsize=(11, 4))
    for n in exit_layers:
        _line(acc, run.get(f"early_exit/section_acc_{n}"), label=f"section {n}")
    _line(acc, run.get("early_exit/threshold"), label="threshold", color="black", linestyle="--")
    _line(layer, run.get("early_exit/exit_layer"), label="exit layer")
    acc.set_title(f"{titles.get(label, label)}: section RTD accuracy at each probe")
    layer.set_title("exit layer")
    layer.set_yticks(list(exit_layers))
    _finish((acc, layer))
    _save(fig, path)
    return True


def all_curves(curves: dict[str, dict], titles: dict[str, str], path: str) -> bool:
    if not curves:
        return False
    plt = _pyplot()
    tags = ("disc/auc", "disc/auc_unigram", "acc/mlm")
    fig, axes = plt.subplots(1, len(tags), figsize=(5 * len(tags), 4))
    for ax, tag in zip(axes, tags, strict=True):
        for label, run in curves.items():
            _line(ax, run.get(tag), label=titles.get(label, label))
        ax.set_title(tag)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    _save(fig, path)
    return True


def draw_all(
    curves: dict[str, dict], titles: dict[str, str], gen_exits, disc_exits, folder: str
) -> list[str]:
    """Draws every plot the curves allow into `folder` (`gen_exits`, `disc_exits`: the exit layers
    of the adaptive generator and of the early-exit discriminator); returns the file names made."""
    made = []
    for name, draw in (
        ("figure4.png", lambda p: figure4(curves, titles, gen_exits, p)),
        ("early_exit.png", lambda p: early_exit(curves, titles, disc_exits, p)),
        ("curves.png", lambda p: all_curves(curves, titles, p)),
    ):
        if draw(os.path.join(folder, name)):
            made.append(name)
    return made
