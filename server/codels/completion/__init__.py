"""One completion from request to answer: the service, its caches and statistics."""
