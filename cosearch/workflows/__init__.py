"""Workflows around the search: export a design, train it, validate the proxy, submit to Ray."""
