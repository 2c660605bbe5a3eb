"""Tests of the GLUE fine-tuning data and metric layer."""
