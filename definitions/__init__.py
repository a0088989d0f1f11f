"""The supportflow workflow language: pure models and functions, safe in the Temporal sandbox."""
