"""Renderers of results, one module per format; each is deterministic: same results, same bytes."""
