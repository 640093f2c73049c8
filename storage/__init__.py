"""Everything that knows the database: tables, the engine, typed queries and migrations."""
