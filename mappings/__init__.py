"""Mapping tables: declarative data read by onepassword_ecs through importlib.resources."""
