"""Analyses of trained models (massive activations)."""
