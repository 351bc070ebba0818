"""Ingest: discover → convert → clean → split → embed → write a new index generation and publish it."""

from index import offline  # noqa: F401  (before any Haystack or Hugging Face import)
