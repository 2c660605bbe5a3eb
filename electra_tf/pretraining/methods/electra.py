"""`electra`: upstream's method — a generator samples the replacements (Clark et al. 2020).

The generator has its own tower, `generator_hidden_size` × and `generator_layers` × the
discriminator's (upstream's `untied_generator: true`), or is the discriminator's encoder with an
MLM head (`untied_generator: false`; the generator sizes are then unused). The discriminator is
upstream's full one.
"""

from __future__ import annotations

from electra_tf import configs
from electra_tf.modeling.encoder import build_encoder
from electra_tf.pretraining import registry
from electra_tf.pretraining.generator import ElectraGenerator, build_mlm_head
from electra_tf.pretraining.replacement import BuildContext


def build(config: configs.PretrainingConfig, context: BuildContext) -> ElectraGenerator:
    if config.untied_generator:
        encoder = build_encoder(configs.generator_config(config), configs.embedding_size(config))
    else:
        encoder = context.discriminator.encoder
    return ElectraGenerator(encoder, build_mlm_head(config), config.temperature, config.gen_weight)


registry.register(registry.Method("electra", build))
