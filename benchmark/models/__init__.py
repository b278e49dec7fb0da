"""Model-side helpers shared by backbone plugins: layer grouping and weight lookup."""
