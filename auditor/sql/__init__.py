"""SQL with sqlglot: table references in one statement, migration history, and `.sql` files."""
