"""Text-generation trials behind notebook 14's choice of a tanh vanilla RNN in ``standard`` (issue 4).

    CHAPTERS_OFFLINE=1 .venv/bin/python benchmarks/text_generation_sweep.py [CONFIG ...]

Trains each configuration (default: all) of the 128-unit, one-layer character models on the offline corpus
(``data.load("char_corpus", lower=True)``; War and Peace if cached), seed 0, and prints one JSON line per
configuration: sequences, updates, wall-clock seconds, the training loss per epoch (stopped once it is not finite
or above 10: diverged), then per decoding (greedy, T = 0.5, T = 1.0 on 300 characters after "the ") the share of
letter runs that are corpus words and the number of distinct such words (``text_generation.known_words``), and the
first two samples. Measured on the 2-core AMD EPYC CI machine with other jobs running (load 3–6), so the seconds
are upper bounds; the losses do not depend on the load.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())
import keras  # noqa: E402

from chapters_src import data  # noqa: E402
from chapters_src.rnn import text_generation as tg  # noqa: E402

CORPUS = data.load("char_corpus", lower=True).data
WORDS = tg.corpus_words(CORPUS)


def windows(text, seq, stride, vocabulary):
    enc = vocabulary.encode(text)
    starts = np.arange(0, len(enc) - seq - 1, stride)
    idx = starts[:, None] + np.arange(seq)[None]
    return enc[idx], enc[idx + 1]


def word_stats(text):
    check = tg.known_words(text, WORDS)
    return round(check.fraction, 3), check.distinct_known


def build(v, cell, units, act, rec_gain, clip, lr):
    """:func:`tg.build_char_model` (one layer), with its recurrent matrix scaled by ``rec_gain`` (the orthogonal
    initialiser's gain) and, when ``clip`` is set, recompiled with ``clipnorm``."""
    m = tg.build_char_model(v, cell=cell, hidden_units=units, layers=1, learning_rate=lr, activation=act)
    if rec_gain != 1.0:
        layer = m.get_layer("simple_rnn_1")
        kernel, recurrent, bias = layer.get_weights()
        layer.set_weights([kernel, rec_gain * recurrent, bias])
    if clip is not None:
        m.compile(optimizer=keras.optimizers.RMSprop(learning_rate=lr, rho=0.9, epsilon=1e-8, clipnorm=clip),
                  loss="sparse_categorical_crossentropy")
    return m


def run(name, cell="simple_rnn", units=128, act="relu", rec_gain=1.0, clip=None, lr=0.001, batch=64, seq=100,
        stride=None, chars=150_000, epochs=8):
    keras.utils.set_random_seed(0)
    text = CORPUS[:chars]
    vocab = tg.build_vocabulary(CORPUS)
    x, y = windows(text, seq, stride or seq, vocab)
    m = build(vocab.size, cell, units, act, rec_gain, clip, lr)
    t0 = time.time()
    losses = []
    for e in range(epochs):
        h = m.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        losses.append(round(float(h.history["loss"][0]), 3))
        if not np.isfinite(losses[-1]) or losses[-1] > 10:
            break
    el = time.time() - t0
    s = tg.CharSampler(m, vocab)
    texts = s.generate(300, seed_text="the ", temperatures=(None, 0.5, 1.0), seed=0)
    stats = [word_stats(t) for t in texts]
    print(json.dumps(dict(name=name, n_seq=len(x), updates=len(x) // batch * len(losses), seconds=round(el, 1),
                          losses=losses, stats=stats)), flush=True)
    for t in texts[:2]:
        print("   ", repr(t[:160]), flush=True)


CONFIGS = {
    "V0_current": dict(cell="simple_rnn", lr=0.005, batch=64, chars=150_000, epochs=8),
    "V1_clip_b32": dict(cell="simple_rnn", lr=0.002, clip=1.0, batch=32, chars=150_000, epochs=10),
    "V2_gain05": dict(cell="simple_rnn", lr=0.002, rec_gain=0.5, clip=1.0, batch=32, chars=300_000, epochs=10),
    "V3_seq50_ovl": dict(cell="simple_rnn", lr=0.002, clip=1.0, batch=32, seq=50, stride=25, chars=300_000, epochs=10),
    "V4_tanh_standard": dict(cell="simple_rnn", act="tanh", lr=0.003, batch=32, chars=300_000, epochs=10),
    "V5_relu_lowlr": dict(cell="simple_rnn", lr=0.0005, batch=32, chars=300_000, epochs=10),
    "V6_relu_b16_465k": dict(cell="simple_rnn", lr=0.001, rec_gain=0.5, clip=1.0, batch=16, chars=465_000, epochs=6),
    "L0_current": dict(cell="lstm", lr=0.005, batch=64, chars=150_000, epochs=8),
    "L1_lstm_standard": dict(cell="lstm", lr=0.005, batch=32, chars=300_000, epochs=10),
    "L2_256_465k": dict(cell="lstm", units=256, lr=0.003, batch=32, chars=465_000, epochs=10),
    "L3_b16_465k": dict(cell="lstm", lr=0.005, batch=16, chars=465_000, epochs=8),
    "L4_ovl": dict(cell="lstm", lr=0.005, batch=32, seq=100, stride=50, chars=300_000, epochs=10),
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(CONFIGS)
    for n in names:
        run(n, **CONFIGS[n])
