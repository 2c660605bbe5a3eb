"""Fine-tuning on GLUE: task registry, TSV readers, metrics and run_finetuning.py (upstream's recipe)."""
