"""Paper-specific studies: the only place that names the XPert, HyDe and SNASNet runs."""
