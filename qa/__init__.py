"""Question answering over the index: understand → facts/retrieve → compose (see qa.answer)."""
