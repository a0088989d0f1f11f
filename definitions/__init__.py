"""The supportflow workflow language: pure models and functions, safe inside the Temporal sandbox."""
