"""Analysis: summaries and figures from result files (never simpy or torch)."""
