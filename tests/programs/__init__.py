"""Test programs that need a TensorFlow of their own (e.g. logical CPU devices configured before it
starts): run with `python -m tests.programs.<name>` by the tests beside them."""
