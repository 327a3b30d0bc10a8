"""Which files to read: the walk, the cheap text pre-filters, and the scan cache."""
