"""The index: what the ingest (writer) and the web app (reader) must agree on.

Settings, the embedding model, the generation store format, the query pipeline and the result
types live here. This package imports neither ``ingest`` nor ``webapp``.
"""

from index import offline  # noqa: F401  (before any Haystack or Hugging Face import)
