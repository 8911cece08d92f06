"""Models, in two subpackages that do not import each other: networks (Keras) and classical."""
