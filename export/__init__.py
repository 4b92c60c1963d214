"""Turn trained Keras models into TFLite bundles the edge runs."""
