"""Small widgets the panes are built from; they render what they are given and never fetch."""
