"""One module per CLI command group; each exposes ``register(app)``. Kept apart so groups evolve independently."""
