"""Every output format of a scan or a plan, one module per format (the terminal included)."""
