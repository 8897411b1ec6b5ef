"""Recurrent networks (source: *Hands-On Deep Learning Architectures with Python*, ch. 6; text CNNs from
*TensorFlow 1.x Deep Learning Cookbook* ch. 5 §1 and *Deep Learning with TensorFlow and Keras* 3rd ed. ch. 20 §7).

- :mod:`.cells`            NumPy reference cells (SimpleRNN, LSTM, GRU), gradient-vs-lag, the four I/O architectures.
- :mod:`.text_generation`  character datasets, the vanilla/LSTM text generators, fast sampling, callbacks.
- :mod:`.forecasting`      windows, per-window scaling, the GRU forecaster, the persistence baseline.
- :mod:`.sentiment`        IMDB loading, the text CNNs and the (bi)directional LSTM classifiers.
- :mod:`.settings`         one profile set per notebook (smoke / standard / full).

Importing the package does not import TensorFlow; the model builders import Keras when called.
"""
