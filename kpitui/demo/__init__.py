"""Demo mode: generated data served and written so the real connectors can read it."""
