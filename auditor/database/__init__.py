"""The live database as a second witness: its compatibility views, their dependents and who queries them."""
