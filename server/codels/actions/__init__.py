"""Code actions: where they apply, what the model is asked, and the edits they make."""
