"""Pre-training building blocks: dynamic masking, Gumbel sampling, ELECTRA losses and metrics."""
