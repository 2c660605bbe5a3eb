"""ELECTRA model parts (Keras 2 via `tf_keras`): shared embeddings, BERT encoder towers and heads."""
