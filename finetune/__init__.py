"""Fine-tuning on GLUE: task registry, TSV readers and evaluation metrics (run_finetuning.py to come)."""
