"""The Compose stack on a private Docker engine."""
