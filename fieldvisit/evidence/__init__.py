"""Evidence files: receiving them hashed, storing them content-addressed, reading them back."""
