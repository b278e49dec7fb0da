"""The report: the study's tables, built from the run store, never by retraining."""
