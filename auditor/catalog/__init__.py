"""The legacy catalog: which names are legacy, what replaces them, and the configuration that says so."""
