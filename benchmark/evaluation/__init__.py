"""Evaluation: predictions, classification metrics, saliency maps and localisation."""
