"""Measurements of Keras models that know nothing of rubrics: graph, structure, receptive field, parameters."""
