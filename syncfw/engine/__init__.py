"""The engine: plan (three-way diff, ownership, identity) and apply (writes, state, cursors)."""
