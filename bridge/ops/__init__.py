"""Operators' tools on stored data: replay and rebuild, retention, the live schema check."""
