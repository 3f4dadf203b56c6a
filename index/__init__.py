"""Ingestion and storage: loaders, sections, metadata, tables, checks, the store and the build."""
