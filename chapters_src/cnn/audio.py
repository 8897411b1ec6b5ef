"""Raw audio with dilated causal convolutions: μ-law, WaveNet, fast generation and an NSynth-style autoencoder.

After van den Oord et al. (2016, WaveNet), Paine et al. (2016, fast WaveNet generation) and Engel et al.
(2017, NSynth), rebuilt small in Keras 3 (the sources run Magenta's TF1 code with a downloaded checkpoint).

- :func:`mu_law_encode` / :func:`mu_law_decode`: 8-bit μ-law companding (256 levels).
- :func:`dilated_causal_conv_reference`: ``y[t] = Σ_k w[k]·x[t − d·k]`` in NumPy, the formula the translation lost.
- :func:`receptive_field`: ``1 + Σ (k − 1)·d`` (kernel 2, dilations 1…512 → 1,024).
- :func:`build_wavenet`: embedding, causal input convolution, dilated gated residual stack with skips, softmax
  over 256 classes; optionally conditioned on a per-sample feature vector (the NSynth decoder).
- :class:`FastGenerator`: autoregressive sampling with cached per-layer states (one small matrix product per
  layer per sample) next to :func:`generate_naive` (a full forward pass per sample).
- :func:`build_nsynth_encoder` / :func:`build_nsynth_autoencoder`: non-causal dilated encoder, 16-channel
  bottleneck, average pooling with hop 512: 40,000 samples → (1, 78, 16).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

QUANTIZATION_CHANNELS = 256


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_dilations(dilations) -> tuple[int, ...]:
    dilations = tuple(dilations)
    if not dilations:
        raise ValueError("dilations must name at least one layer")
    for d in dilations:
        _check_int("every dilation", d)
    return dilations


# ------------------------------------------------------------------------------------------------------------
# μ-law
# ------------------------------------------------------------------------------------------------------------

def mu_law_encode(audio, quantization_channels: int = QUANTIZATION_CHANNELS) -> np.ndarray:
    """Float audio in [-1, 1] (clipped) → int64 codes in [0, channels − 1], same shape.

    ``f(x) = sign(x)·ln(1 + μ|x|)/ln(1 + μ)`` with ``μ = channels − 1``, then ``round((f + 1)/2·μ)``
    (as in WaveNet and Magenta's ``mu_law``). Small amplitudes get fine steps, loud ones coarse steps.
    """
    channels = _check_int("quantization_channels", quantization_channels, 2)
    mu = channels - 1
    x = np.clip(np.asarray(audio, dtype="float64"), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.floor((companded + 1) / 2 * mu + 0.5).astype("int64")


def mu_law_decode(codes, quantization_channels: int = QUANTIZATION_CHANNELS) -> np.ndarray:
    """Codes in [0, channels − 1] → float32 audio in [-1, 1]: the inverse of :func:`mu_law_encode`."""
    channels = _check_int("quantization_channels", quantization_channels, 2)
    mu = channels - 1
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() > mu):
        raise ValueError(f"codes must lie in [0, {mu}]; got values in [{codes.min()}, {codes.max()}]")
    companded = 2 * codes.astype("float64") / mu - 1
    return (np.sign(companded) * ((1 + mu) ** np.abs(companded) - 1) / mu).astype("float32")


def mu_law_step(audio, quantization_channels: int = QUANTIZATION_CHANNELS) -> np.ndarray:
    """The width of the μ-law quantisation cell around each amplitude (the round-trip error is at most half)."""
    mu = quantization_channels - 1
    x = np.abs(np.clip(np.asarray(audio, dtype="float64"), -1, 1))
    return (2 / mu) * np.log1p(mu) / mu * (1 + mu * x)


# ------------------------------------------------------------------------------------------------------------
# Dilated causal convolution
# ------------------------------------------------------------------------------------------------------------

def dilated_causal_conv_reference(x, weights, dilation: int = 1) -> np.ndarray:
    """``y[t] = Σ_k w[k]·x[t − d·k]`` with ``x[t] = 0`` for ``t < 0``: ``x`` ``(time,)``, ``weights`` ``(k,)``.

    ``w[0]`` multiplies the current sample. A Keras ``Conv1D(padding="causal")`` computes the same with its kernel
    reversed (Keras correlates: ``kernel[-1]`` meets the current sample), i.e. ``weights = kernel[::-1, 0, 0]``.
    """
    dilation = _check_int("dilation", dilation)
    x = np.asarray(x, dtype="float64")
    weights = np.asarray(weights, dtype="float64")
    if x.ndim != 1 or weights.ndim != 1:
        raise ValueError(f"x and weights must be 1-D; got shapes {x.shape} and {weights.shape}")
    y = np.zeros_like(x)
    for k, w in enumerate(weights):
        shift = dilation * k
        if shift < len(x):
            y[shift:] += w * x[: len(x) - shift]
    return y


def receptive_field(kernel_size: int, dilations) -> int:
    """Samples seen by one output of a stack of dilated convolutions: ``1 + Σ (k − 1)·d``."""
    kernel_size = _check_int("kernel_size", kernel_size)
    return 1 + sum((kernel_size - 1) * d for d in _check_dilations(dilations))


def wavenet_receptive_field(dilations, kernel_size: int = 2, initial_kernel_size: int = 2) -> int:
    """Receptive field of :func:`build_wavenet`: the causal input convolution plus the dilated stack."""
    return receptive_field(kernel_size, dilations) + initial_kernel_size - 1


# ------------------------------------------------------------------------------------------------------------
# WaveNet
# ------------------------------------------------------------------------------------------------------------

def build_wavenet(dilations=tuple(2 ** i for i in range(10)), *, kernel_size: int = 2, residual_channels: int = 32,
                  skip_channels: int = 64, quantization_channels: int = QUANTIZATION_CHANNELS,
                  initial_kernel_size: int = 2, conditioning_channels: int | None = None,
                  sequence_length: int | None = None, name: str = "wavenet"):
    """A WaveNet: int codes ``(batch, time)`` [+ conditioning ``(batch, time, c)``] → softmax ``(batch, time, 256)``.

    Layers (names in brackets, used by :class:`FastGenerator`):

    - ``embedding``: code → ``residual_channels`` vector (a one-hot input times a matrix);
    - ``causal_input``: causal ``Conv1D(kernel=initial_kernel_size)``;
    - per dilation ``d`` (index ``i``): ``filter_i`` and ``gate_i``, causal ``Conv1D(kernel_size, dilation_rate=d)``
      [+ ``cond_filter_i``, ``cond_gate_i``: 1×1 projections of the conditioning], ``z = tanh(filter)·σ(gate)``,
      ``skip_i`` (1×1 to ``skip_channels``) and ``residual_i`` (1×1, added to the layer input; not on the last layer);
    - ``post``: ReLU(Σ skips) → 1×1 → ReLU → ``output`` 1×1 to ``quantization_channels`` with softmax.

    Output length equals input length, and output ``t`` depends only on inputs ``≤ t``.
    """
    import keras
    from keras import layers

    dilations = _check_dilations(dilations)
    for argument, value in (("kernel_size", kernel_size), ("residual_channels", residual_channels),
                            ("skip_channels", skip_channels), ("initial_kernel_size", initial_kernel_size)):
        _check_int(argument, value)
    _check_int("quantization_channels", quantization_channels, 2)
    codes = keras.Input((sequence_length,), dtype="int32", name="audio_codes")
    inputs = [codes]
    x = layers.Embedding(quantization_channels, residual_channels, name="embedding")(codes)
    x = layers.Conv1D(residual_channels, initial_kernel_size, padding="causal", name="causal_input")(x)
    conditioning = None
    if conditioning_channels is not None:
        _check_int("conditioning_channels", conditioning_channels)
        conditioning = keras.Input((sequence_length, conditioning_channels), name="conditioning")
        inputs.append(conditioning)
    skips = []
    for i, d in enumerate(dilations):
        conv = dict(kernel_size=kernel_size, dilation_rate=d, padding="causal")
        filt = layers.Conv1D(residual_channels, name=f"filter_{i}", **conv)(x)
        gate = layers.Conv1D(residual_channels, name=f"gate_{i}", **conv)(x)
        if conditioning is not None:
            filt = layers.Add(name=f"add_cond_filter_{i}")(
                [filt, layers.Conv1D(residual_channels, 1, name=f"cond_filter_{i}")(conditioning)])
            gate = layers.Add(name=f"add_cond_gate_{i}")(
                [gate, layers.Conv1D(residual_channels, 1, name=f"cond_gate_{i}")(conditioning)])
        z = layers.Multiply(name=f"gated_{i}")([layers.Activation("tanh", name=f"tanh_{i}")(filt),
                                                layers.Activation("sigmoid", name=f"sigmoid_{i}")(gate)])
        skips.append(layers.Conv1D(skip_channels, 1, name=f"skip_{i}")(z))
        if i < len(dilations) - 1:
            x = layers.Add(name=f"residual_add_{i}")([x, layers.Conv1D(residual_channels, 1, name=f"residual_{i}")(z)])
    total = skips[0] if len(skips) == 1 else layers.Add(name="skip_sum")(skips)
    h = layers.Conv1D(skip_channels, 1, name="post")(layers.ReLU(name="relu_skips")(total))
    probabilities = layers.Conv1D(quantization_channels, 1, activation="softmax", name="output")(
        layers.ReLU(name="relu_post")(h))
    return keras.Model(inputs if len(inputs) > 1 else codes, probabilities, name=name)


def wavenet_parameter_count(dilations, *, kernel_size: int = 2, residual_channels: int = 32, skip_channels: int = 64,
                            quantization_channels: int = QUANTIZATION_CHANNELS, initial_kernel_size: int = 2,
                            conditioning_channels: int | None = None) -> int:
    """The parameter count of :func:`build_wavenet`, by formula (weights + biases of every layer)."""
    r, s, q, n = residual_channels, skip_channels, quantization_channels, len(_check_dilations(dilations))
    total = q * r + (initial_kernel_size * r * r + r)                   # embedding, causal input conv
    total += n * 2 * (kernel_size * r * r + r)                          # filter and gate
    if conditioning_channels is not None:
        total += n * 2 * (conditioning_channels * r + r)                # conditioning projections
    total += n * (r * s + s) + (n - 1) * (r * r + r)                    # skip and residual 1×1
    return total + (s * s + s) + (s * q + q)                            # post and output


def next_sample_windows(clips, window: int, count: int, *, seed: int = 0,
                        quantization_channels: int = QUANTIZATION_CHANNELS):
    """Training pairs for next-sample prediction: ``(inputs, targets)`` int32 ``(count, window)``.

    Each row is a random window of ``window + 1`` μ-law codes from one of ``clips`` (float arrays in [-1, 1]);
    the targets are the inputs shifted by one sample (the cross-entropy "between the output at one step and the
    input at the next").
    """
    window, count = _check_int("window", window), _check_int("count", count)
    encoded = [mu_law_encode(clip, quantization_channels) for clip in clips]
    if not encoded or min(len(codes) for codes in encoded) <= window:
        raise ValueError(f"every clip must be longer than window + 1 = {window + 1} samples")
    rng = np.random.default_rng(seed)
    rows = np.empty((count, window + 1), dtype="int32")
    for row in range(count):
        codes = encoded[int(rng.integers(len(encoded)))]
        start = int(rng.integers(0, len(codes) - window))
        rows[row] = codes[start:start + window + 1]
    return rows[:, :-1], rows[:, 1:]


def compile_for_next_sample(model, learning_rate: float = 1e-3, jit_compile: bool = False):
    """Adam + sparse categorical cross-entropy on the softmax output + accuracy (returns ``model``).
    ``jit_compile``: XLA (pass ``device.setup().jit_compile``: on for a GPU, off on a CPU)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    return model


# ------------------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------------------

def _sample(probabilities: np.ndarray, rng, temperature: float) -> np.ndarray:
    """One code per row of ``probabilities`` ``(batch, classes)``; temperature 0 = argmax."""
    if temperature == 0:
        return probabilities.argmax(axis=-1)
    logits = np.log(np.maximum(probabilities, 1e-12)) / temperature
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    return np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), p.shape[-1] - 1)


@dataclass
class _Layer:
    """One residual layer's weights, rearranged for one-sample steps (float32)."""

    dilation: int
    kernel_size: int
    skip_channels: int
    filter_gate: np.ndarray            # (k·r, 2r): taps stacked oldest first, filter | gate outputs
    filter_gate_bias: np.ndarray       # (2r,)
    skip_residual: np.ndarray          # (r, s + r) (residual part empty on the last layer)
    skip_residual_bias: np.ndarray
    conditioning: np.ndarray | None    # (c, 2r)
    conditioning_bias: np.ndarray | None


class FastGenerator:
    """Incremental WaveNet sampling (Paine et al., 2016): every layer keeps a ring buffer of its last
    ``d·(k − 1) + 1`` inputs, so each new sample costs two small matrix products per layer (filter and gate
    over the ``k`` cached taps; skip and residual) instead of a forward pass over the whole receptive field.
    The weights are read once from a :func:`build_wavenet` model.

    ``step(codes, conditioning=None)`` feeds one code per batch row and returns the next-sample probabilities
    ``(batch, 256)``; :meth:`generate` samples autoregressively. A fresh generator starts from zero state, exactly
    the causal zero padding the model saw at the start of every training window.
    """

    def __init__(self, model, batch_size: int = 1):
        self.batch_size = _check_int("batch_size", batch_size)
        weights = {layer.name: [np.asarray(w, dtype="float32") for w in layer.get_weights()] for layer in model.layers}
        if "embedding" not in weights or "causal_input" not in weights:
            raise ValueError("model must come from build_wavenet (layers 'embedding' and 'causal_input')")
        self.embedding = weights["embedding"][0]
        kernel, self.input_bias = weights["causal_input"]
        self.input_kernel = kernel.reshape(-1, kernel.shape[-1])          # (k0·r, r), oldest tap first
        self.input_taps = kernel.shape[0]
        self.layers: list[_Layer] = []
        index = 0
        while f"filter_{index}" in weights:
            (fk, fb), (gk, gb) = weights[f"filter_{index}"], weights[f"gate_{index}"]
            k, r = fk.shape[0], fk.shape[-1]
            sk, sb = weights[f"skip_{index}"]
            rk, rb = weights.get(f"residual_{index}", (np.zeros((1, r, 0), "float32"), np.zeros(0, "float32")))
            conditioning = conditioning_bias = None
            if f"cond_filter_{index}" in weights:
                (cfk, cfb), (cgk, cgb) = weights[f"cond_filter_{index}"], weights[f"cond_gate_{index}"]
                conditioning = np.concatenate([cfk[0], cgk[0]], axis=1)
                conditioning_bias = np.concatenate([cfb, cgb])
            self.layers.append(_Layer(
                int(model.get_layer(f"filter_{index}").dilation_rate[0]), k, sk.shape[-1],
                np.concatenate([fk, gk], axis=2).reshape(k * r, 2 * r), np.concatenate([fb, gb]),
                np.concatenate([sk[0], rk[0]], axis=1), np.concatenate([sb, rb]), conditioning, conditioning_bias))
            index += 1
        self.post = (weights["post"][0][0], weights["post"][1])
        self.output = (weights["output"][0][0], weights["output"][1])
        self.conditioned = self.layers[0].conditioning is not None
        self.reset()

    def reset(self) -> None:
        """Zero every buffer (silence before the first sample) and restart time at 0."""
        b, channels = self.batch_size, self.embedding.shape[1]
        self.time = 0
        self.input_buffer = np.zeros((self.input_taps, b, channels), "float32")
        self.buffers = [np.zeros((layer.dilation * (layer.kernel_size - 1) + 1, b, channels), "float32")
                        for layer in self.layers]

    @staticmethod
    def _stacked_taps(buffer: np.ndarray, kernel_size: int, time: int, dilation: int) -> np.ndarray:
        """``[x[t − d·(k−1)], …, x[t − d], x[t]]`` concatenated on the channel axis: ``(batch, k·r)``."""
        size = len(buffer)
        rows = [(time - dilation * (kernel_size - 1 - j)) % size for j in range(kernel_size)]
        return np.concatenate([buffer[row] for row in rows], axis=1) if kernel_size > 1 else buffer[rows[0]]

    def step(self, codes, conditioning=None) -> np.ndarray:
        """Feed codes ``(batch,)`` at the current time; return next-sample probabilities ``(batch, 256)``.
        ``conditioning``: ``(batch, c)`` for a conditioned model."""
        codes = np.asarray(codes, dtype="int64").reshape(self.batch_size)
        if self.conditioned and conditioning is None:
            raise ValueError("this WaveNet is conditioned: pass conditioning of shape (batch, channels)")
        t = self.time
        self.input_buffer[t % self.input_taps] = self.embedding[codes]
        x = self._stacked_taps(self.input_buffer, self.input_taps, t, 1) @ self.input_kernel + self.input_bias
        skip_total = 0.0
        for layer, buffer in zip(self.layers, self.buffers):
            buffer[t % len(buffer)] = x
            pre = self._stacked_taps(buffer, layer.kernel_size, t, layer.dilation) @ layer.filter_gate
            pre += layer.filter_gate_bias
            if layer.conditioning is not None:
                pre += np.asarray(conditioning, "float32") @ layer.conditioning + layer.conditioning_bias
            r = pre.shape[1] // 2
            z = np.tanh(pre[:, :r]) / (1 + np.exp(-pre[:, r:]))
            out = z @ layer.skip_residual + layer.skip_residual_bias
            skip_total = skip_total + out[:, :layer.skip_channels]
            if out.shape[1] > layer.skip_channels:          # every layer but the last has a residual output
                x = x + out[:, layer.skip_channels:]
        h = np.maximum(np.maximum(skip_total, 0) @ self.post[0] + self.post[1], 0)
        logits = (h @ self.output[0] + self.output[1]).astype("float64")
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        self.time += 1
        return p / p.sum(axis=-1, keepdims=True)

    def generate(self, n_samples: int, *, seed_codes=None, conditioning=None, temperature: float = 1.0,
                 seed: int = 0) -> np.ndarray:
        """Generate ``n_samples`` codes per batch row (int64 ``(batch, n_samples)``) after priming on
        ``seed_codes`` ``(batch, s)`` (or from silence). ``conditioning``: ``(batch, s + n_samples, c)``
        for a conditioned model. ``temperature`` 0 picks the most likely code."""
        n_samples = _check_int("n_samples", n_samples)
        rng = np.random.default_rng(seed)
        self.reset()
        if seed_codes is None:     # start from one silent sample (μ-law code 128)
            seed_codes = np.full((self.batch_size, 1), mu_law_encode(0.0), dtype="int64")
        seed_codes = np.asarray(seed_codes, dtype="int64").reshape(self.batch_size, -1)
        if seed_codes.shape[1] == 0:
            raise ValueError("seed_codes must hold at least one code per row (or be None)")
        if conditioning is not None:
            conditioning = np.asarray(conditioning, dtype="float64")
            needed = seed_codes.shape[1] + n_samples - 1
            if conditioning.ndim != 3 or conditioning.shape[1] < needed:
                raise ValueError(f"conditioning must be (batch, >= {needed}, channels); got {conditioning.shape}")
        cond = lambda t: None if conditioning is None else conditioning[:, t]  # noqa: E731
        for t in range(seed_codes.shape[1]):
            probabilities = self.step(seed_codes[:, t], cond(t))
        out = np.empty((self.batch_size, n_samples), dtype="int64")
        for t in range(n_samples):
            out[:, t] = _sample(probabilities, rng, temperature)
            if t + 1 < n_samples:
                probabilities = self.step(out[:, t], cond(self.time))
        return out


def generate_naive(model, seed_codes, n_samples: int, *, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """The slow way: for every new sample, run the whole model over the last receptive-field window
    ``seed_codes`` ``(batch, window)`` (window ≥ the receptive field) and sample from its last output.
    Returns int64 ``(batch, n_samples)``. Unconditioned models only."""
    n_samples = _check_int("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    window = np.array(seed_codes, dtype="int32", ndmin=2)
    out = np.empty((window.shape[0], n_samples), dtype="int64")
    for t in range(n_samples):
        probabilities = np.asarray(model.predict_on_batch(window))[:, -1].astype("float64")
        out[:, t] = _sample(probabilities, rng, temperature)
        window = np.concatenate([window[:, 1:], out[:, t:t + 1].astype("int32")], axis=1)
    return out


def samples_per_second(function, n_samples: int) -> tuple[float, object]:
    """``(n_samples / seconds, result)`` for one call of ``function()``."""
    start = time.perf_counter()
    result = function()
    return n_samples / max(time.perf_counter() - start, 1e-9), result


# ------------------------------------------------------------------------------------------------------------
# NSynth-style autoencoder
# ------------------------------------------------------------------------------------------------------------

def build_nsynth_encoder(dilations=tuple(2 ** (i % 10) for i in range(30)), *, width: int = 128,
                         bottleneck: int = 16, hop: int = 512, kernel_size: int = 3,
                         sample_length: int | None = None, name: str = "nsynth_encoder"):
    """Audio ``(batch, samples, 1)`` in [-1, 1] → encoding ``(batch, samples // hop, bottleneck)``.

    Magenta's ``h512_bo16`` encoder, scaled by ``width`` and ``dilations``: a non-causal ``Conv1D`` (padding
    "same", so each frame sees the past and the future of the chunk), residual blocks ReLU → dilated Conv1D →
    ReLU → 1×1, a 1×1 bottleneck to 16 channels and ``AveragePooling1D(hop)``. 40,000 samples → 78 frames,
    64,000 → 125.
    """
    import keras
    from keras import layers

    dilations = _check_dilations(dilations)
    for argument, value in (("width", width), ("bottleneck", bottleneck), ("hop", hop), ("kernel_size", kernel_size)):
        _check_int(argument, value)
    audio = keras.Input((sample_length, 1), name="audio")
    x = layers.Conv1D(width, kernel_size, padding="same", name="encoder_input")(audio)
    for i, d in enumerate(dilations):
        h = layers.ReLU(name=f"encoder_relu_a_{i}")(x)
        h = layers.Conv1D(width, kernel_size, dilation_rate=d, padding="same", name=f"encoder_dilated_{i}")(h)
        h = layers.Conv1D(width, 1, name=f"encoder_1x1_{i}")(layers.ReLU(name=f"encoder_relu_b_{i}")(h))
        x = layers.Add(name=f"encoder_add_{i}")([x, h])
    x = layers.Conv1D(bottleneck, 1, name="bottleneck")(x)
    encoding = layers.AveragePooling1D(hop, name="average_pool")(x)
    return keras.Model(audio, encoding, name=name)


def build_nsynth_autoencoder(encoder, decoder, hop: int = 512, name: str = "nsynth"):
    """Join an encoder (:func:`build_nsynth_encoder`) and a conditioned decoder (:func:`build_wavenet` with
    ``conditioning_channels`` = bottleneck): inputs ``audio`` ``(batch, samples, 1)`` and ``audio_codes``
    ``(batch, samples)`` (samples a multiple of ``hop``), output next-sample probabilities. The encoding is
    upsampled by repetition to one vector per sample."""
    import keras
    from keras import layers

    audio = keras.Input((None, 1), name="audio")
    codes = keras.Input((None,), dtype="int32", name="audio_codes")
    upsampled = layers.UpSampling1D(hop, name="upsample")(encoder(audio))
    return keras.Model([audio, codes], decoder([codes, upsampled]), name=name)


def autoencoder_windows(clip, window: int, count: int, *, seed: int = 0):
    """Training data for :func:`build_nsynth_autoencoder`: ``({"audio", "audio_codes"}, targets)``.

    ``audio`` float32 ``(count, window, 1)`` (μ-law decoded, so the encoder sees the quantised signal),
    ``audio_codes`` int32 ``(count, window)``, targets int32 ``(count, window)`` = codes shifted by one.
    """
    inputs, targets = next_sample_windows([clip], window, count, seed=seed)
    return {"audio": mu_law_decode(inputs)[..., None], "audio_codes": inputs}, targets


def upsample_encoding(encoding, hop: int) -> np.ndarray:
    """``(batch, frames, c)`` → ``(batch, frames·hop, c)`` by repetition (what ``UpSampling1D`` does)."""
    return np.repeat(np.asarray(encoding), hop, axis=1)


# ------------------------------------------------------------------------------------------------------------
# Training recipes used by the chapter
# ------------------------------------------------------------------------------------------------------------

def train_wavenet(settings, clips, *, run_dir, verbose="auto", seed: int = 0, jit_compile: bool = False):
    """Build, compile and fit a WaveNet on next-sample windows of ``clips``; returns ``(model, TrainingResult)``.

    ``settings``: a :class:`~chapters_src.cnn.cnn4_settings.WaveNetSettings`. Validation: other windows of the
    same clips (the task is density modelling, not generalisation to new sounds).
    """
    import keras

    from .. import training

    keras.utils.set_random_seed(seed)
    x, y = next_sample_windows(clips, settings.window, settings.windows_per_epoch, seed=seed)
    x_val, y_val = next_sample_windows(clips, settings.window, max(16, settings.windows_per_epoch // 8),
                                       seed=seed + 1)
    model = compile_for_next_sample(
        build_wavenet(settings.dilations, residual_channels=settings.residual_channels,
                      skip_channels=settings.skip_channels), settings.learning_rate, jit_compile)
    result = training.fit(model, x, y, validation_data=(x_val, y_val), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return model, result


def train_nsynth(settings, clip, *, run_dir, verbose="auto", seed: int = 0, jit_compile: bool = False):
    """Build and fit the NSynth-style autoencoder on windows of one clip; returns ``(autoencoder, encoder,
    decoder, TrainingResult)``. The decoder is a WaveNet with ``settings.dilations`` conditioned on the encoding."""
    import keras

    from .. import training

    if settings.nsynth_window % settings.hop:
        raise ValueError(f"nsynth_window must be a multiple of hop={settings.hop}; got {settings.nsynth_window}")
    keras.utils.set_random_seed(seed)
    encoder = build_nsynth_encoder(settings.encoder_dilations, width=settings.encoder_width,
                                   bottleneck=settings.bottleneck, hop=settings.hop)
    decoder = build_wavenet(settings.dilations, residual_channels=settings.residual_channels,
                            skip_channels=settings.skip_channels, conditioning_channels=settings.bottleneck,
                            name="nsynth_decoder")
    autoencoder = compile_for_next_sample(build_nsynth_autoencoder(encoder, decoder, settings.hop),
                                          settings.learning_rate, jit_compile)
    x, y = autoencoder_windows(clip, settings.nsynth_window, settings.nsynth_windows, seed=seed)
    x_val, y_val = autoencoder_windows(clip, settings.nsynth_window, max(8, settings.nsynth_windows // 8),
                                       seed=seed + 1)
    result = training.fit(autoencoder, x, y, validation_data=(x_val, y_val), epochs=settings.nsynth_epochs,
                          batch_size=max(1, settings.batch_size // 2), run_dir=run_dir, verbose=verbose)
    return autoencoder, encoder, decoder, result


def reconstruction_bits(encoder, decoder, audio, hop: int = 512) -> dict:
    """How well the conditioned decoder reconstructs ``audio`` ``(samples,)``, one sample at a time with the true past
    ("teacher forcing"), in **bits per sample** of the true next μ-law code (lower is better; 8 bits = uniform).

    Returns ``{"decoder": …, "decoder without encoding": …, "code histogram": …}``: the decoder given the audio's
    encoding; the same decoder with the encoding replaced by zeros (does it use the encoding?); and the trivial
    baseline that ignores the past and the encoding and always predicts the clip's own histogram of codes
    (the probabilistic "predict the mean"). Computed over the first ``len(audio) // hop`` frames.
    """
    frames = (len(audio) - 1) // _check_int("hop", hop)
    if frames < 1:
        raise ValueError(f"audio must hold more than hop={hop} samples; got {len(audio)}")
    n = frames * hop
    codes = mu_law_encode(np.asarray(audio, dtype="float32"))
    inputs, targets = codes[None, :n], codes[1:n + 1]
    import keras

    encoding = keras.ops.convert_to_numpy(encoder(mu_law_decode(inputs)[..., None], training=False))
    conditioning = upsample_encoding(encoding, hop).astype("float32")

    def bits(conditioning):
        probabilities = keras.ops.convert_to_numpy(decoder([inputs, conditioning], training=False))
        return float(-np.log2(probabilities[0][np.arange(n), targets] + 1e-12).mean())

    histogram = np.bincount(codes, minlength=QUANTIZATION_CHANNELS) / len(codes)
    return {"decoder": bits(conditioning), "decoder without encoding": bits(np.zeros_like(conditioning)),
            "code histogram": float(-np.log2(histogram[targets]).mean())}


def reconstruct(encoder, decoder, audio, hop: int = 512, *, n_samples: int | None = None, temperature: float = 0.0,
                seed: int = 0):
    """Encode ``audio`` ``(samples,)`` and resynthesise it sample by sample with the conditioned decoder
    (the fast generator), starting from the first true sample. Returns ``(encoding (1, frames, c), audio)`` with
    ``n_samples`` (default: all ``frames·hop − 1``) float32 samples."""
    frames = len(audio) // hop
    if frames < 1:
        raise ValueError(f"audio must hold at least hop={hop} samples; got {len(audio)}")
    quantised = mu_law_decode(mu_law_encode(audio[: frames * hop]))
    encoding = np.asarray(encoder.predict_on_batch(quantised[None, :, None]))
    conditioning = upsample_encoding(encoding, hop)
    n_samples = frames * hop - 1 if n_samples is None else min(_check_int("n_samples", n_samples), frames * hop - 1)
    codes = FastGenerator(decoder).generate(n_samples, seed_codes=mu_law_encode(quantised[:1])[None],
                                            conditioning=conditioning, temperature=temperature, seed=seed)
    return encoding, mu_law_decode(codes[0])
