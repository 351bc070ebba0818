"""The local backend: one data directory on this machine.

- :mod:`~index.storage.local.datadir`: generations as directories, CURRENT, the writer lock, run reports
- :mod:`~index.storage.local.store`: ``KBDocumentStore``, sources and passages in SQLite (with FTS5)
- :mod:`~index.storage.local.vectors`: the FAISS index of passage vectors (exact or IVF, filtered search)
- :mod:`~index.storage.local.lexical`: BM25 over passages in tantivy
"""
