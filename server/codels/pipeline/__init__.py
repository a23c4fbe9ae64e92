"""The stages a completion goes through: context, prompt, post-processing."""
