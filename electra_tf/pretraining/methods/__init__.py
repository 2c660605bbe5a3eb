"""The built-in pre-training methods, one module each; importing this package registers them.

A method is one `registry.Method` entry in its own module: its hparams and their validation, its
replacement part, its discriminator stage, the facts other code asks about. To add one, write a
module like these and import it here (or register it from your own code before building).
"""

from electra_tf.pretraining.methods import (  # noqa: F401  (each module registers its method)
    adaptive_exit_gen,
    early_exit_disc,
    electra,
    mlm,
    noise_and_emb_gen,
    unigram,
)
