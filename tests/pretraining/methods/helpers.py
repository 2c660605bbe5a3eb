"""Method settings that tests of other parts borrow: each names a method, so they live here, with
the methods' own tests (renaming a method changes its file, this folder and nothing else)."""

from __future__ import annotations

# adaptive_exit_gen on tests.helpers.TINY_MODEL: one exit after each of the generator's 2 layers.
TINY_ADAPTIVE_EXITS = {"method": "adaptive_exit_gen", "exit_layers": [1, 2], "exit_loss_weights": [1.0, 2.0]}
# A method whose discriminator holds several RTD heads (one per exit), on the tiny 2-layer models.
MULTI_HEAD_DISCRIMINATOR = {
    "method": "early_exit_disc",
    "exit_layers": [1, 2],
    "exit_loss_weights": [1.0, 2.0],
}
# A method with no generator (replacements from the corpus' unigram distribution): no MLM metrics.
NO_GENERATOR = {"method": "unigram"}
