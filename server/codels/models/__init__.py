"""The model catalogue, model files and their facts, downloads."""
