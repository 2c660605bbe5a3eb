"""electra-tf: efficient ELECTRA pre-training in TensorFlow 2."""

from setuptools import find_packages, setup

setup(
    name="electra-tf",
    version="0.1.0",
    description="ELECTRA pre-training in TensorFlow 2 with the efficiency methods of Kang et al.",
    python_requires=">=3.11,<3.12",
    packages=find_packages(
        include=["electra_tf", "electra_tf.*", "pretrain", "finetune", "data_prep", "reproduce"]
    ),
    install_requires=[
        "tensorflow==2.20.0",
        "tf-keras==2.20.1",
        "tensorflow-text==2.20.1",
        "tf-models-official==2.20.0",
        "absl-py",
        "numpy",
        "sentencepiece",
        "matplotlib",  # the demo's training-curve plot
        "safetensors",  # Hugging Face model files (numpy API; no PyTorch)
    ],
    extras_require={
        # tokenizers: Hugging Face's Rust BERT tokenizer, the independent reference in the tests.
        # scikit-learn, scipy: independent references for the GLUE metrics (tests/finetune).
        "test": ["pytest", "pytest-xdist", "ruff", "tokenizers", "scikit-learn", "scipy"],
    },
)
