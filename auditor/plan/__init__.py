"""From findings to Phase 3: the dependency graph, the plan per legacy object, owners, the drop migration."""
