"""Roll a plan out: the engine, its health gates, the journal and resume."""
