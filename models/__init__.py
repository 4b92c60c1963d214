"""Keras model builders for har-edge, picked by name through the registry."""

from har.models.registry import ExportSpec, InputSpec, build_model, get_entry, list_models, register_model

__all__ = ["ExportSpec", "InputSpec", "build_model", "get_entry", "list_models", "register_model"]
