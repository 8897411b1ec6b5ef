"""Convolutional-network topics: arithmetic (output sizes, receptive fields, parameter counts),
NumPy reference convolutions, and the model builders used by the CNN chapters."""
