"""The PostgreSQL backend (``store_url``): a schema per generation, for many web replicas.

- :mod:`~index.storage.postgres.pool`: connections, per-process pools, schema names
- :mod:`~index.storage.postgres.generations`: ``PgGenerations``, the catalogue, publishing in one transaction
- :mod:`~index.storage.postgres.store`: ``PgDocumentStore``, a published generation read-only (pgvector)
- :mod:`~index.storage.postgres.lexical_write` / :mod:`~index.storage.postgres.lexical_search`: BM25 postings
  written at publish and searched in SQL
"""
