"""Keras model builders for har-edge, picked by name through the registry."""

from har.models.registry import InputSpec, build_model, get_entry, list_models, register_model

__all__ = ["InputSpec", "build_model", "get_entry", "list_models", "register_model"]
