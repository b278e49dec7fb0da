"""Data preparation: catalogue -> decoded, cropped, cached patches -> splits."""
