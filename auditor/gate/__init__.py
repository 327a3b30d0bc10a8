"""The CI gate: stable fingerprints, baselines, suppressions and changed lines."""
