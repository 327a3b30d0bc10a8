"""Shared by every stage: the data model, the rule registry, source text and safe report writing."""
