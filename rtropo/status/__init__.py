"""The operator's view: what each backend last saw, and the problems it shows."""
