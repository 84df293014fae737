"""Forms of the certificates app, one module per feature (as views/ and services/): parsing
and field rules only, never a write."""
