"""Pre-training data: corpus readers, example packing, TFRecord schema and writing."""
