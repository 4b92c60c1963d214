"""Workstation side: datasets, clips, training, plots and the `har` CLI."""
