"""Pre-training: input pipeline, trainer and the run_pretraining.py entry point."""
