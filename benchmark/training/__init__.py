"""Training: freezing rules, per-depth learning rates, the phase loop, early stopping."""
