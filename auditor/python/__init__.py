"""Python: extraction of SQL text, table names and ORM mappings, and their resolution across modules."""
