"""valuetrace: cultural values in multilingual masked LMs, their shifts under fine-tuning, and their causes."""

__version__ = "0.1.0"
