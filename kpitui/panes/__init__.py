"""The five panes; each renders a Snapshot and nothing else."""
