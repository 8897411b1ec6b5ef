"""Bayesian softmax regression: the source's Edward 1.x model (ch. 8 §8.1.3) in Keras 3, and uncertainty metrics.

Model (as in the source, which calls it "one hidden layer" but has none): ``logits = x W + b`` with W ``(784, 10)``
and b ``(10,)``; priors ``N(0, 1)`` on every weight; a mean-field Gaussian posterior ``q(w) = N(μ, softplus(ρ)²)``
with μ and ρ initialised from ``N(0, 1)``. Edward's ``KLqp`` with ``scale={y: N / batch_size}`` minimises, per
minibatch of ``B`` examples out of ``N``,

    −(N/B) · Σ_batch log p(y | x, w)   +   KL(q ‖ p)          (one reparameterised weight draw, analytic KL)

Keras averages the cross-entropy over the batch, so the layer adds ``KL / N`` and the loss Keras minimises is
that objective divided by ``N`` (same optimum, same Adam steps: Adam is invariant to the scale of the loss).
Edward's default optimiser was Adam with a learning rate of 0.1 decayed by 0.9 every 100 steps; we keep it.

Everything after training works in NumPy on posterior draws: :func:`sample_posterior`,
:func:`predictive_probabilities`, :func:`per_draw_accuracy`, :func:`predictive_entropy`, :func:`auroc`,
:func:`accuracy_after_rejection`.
"""
from __future__ import annotations

import numpy as np
import keras
from keras import ops

N_FEATURES, N_CLASSES = 784, 10


def gaussian_kl(loc, scale, prior_loc=0.0, prior_scale=1.0):
    """``KL(N(loc, scale²) ‖ N(prior_loc, prior_scale²))`` summed over all elements (``keras.ops``, any shape).

    Per element: ``log(σp/σq) + (σq² + (μq − μp)²) / (2σp²) − 1/2``.
    """
    loc, scale = ops.convert_to_tensor(loc), ops.convert_to_tensor(scale)
    prior_loc = ops.cast(prior_loc, loc.dtype)
    prior_scale = ops.cast(prior_scale, loc.dtype)
    terms = (ops.log(prior_scale) - ops.log(scale)
             + (ops.square(scale) + ops.square(loc - prior_loc)) / (2.0 * ops.square(prior_scale)) - 0.5)
    return ops.sum(terms)


def negative_elbo(log_likelihood_batch_sum, kl, n_train: int, batch_size: int):
    """The source's objective for one minibatch: ``−(N/B)·Σ_batch log p(y|x,w) + KL(q‖p)``."""
    if n_train < 1 or batch_size < 1:
        raise ValueError(f"n_train and batch_size must be positive; got {n_train}, {batch_size}")
    return -(n_train / batch_size) * log_likelihood_batch_sum + kl


@keras.saving.register_keras_serializable(package="chapters_src.trends")
class BayesianDense(keras.layers.Layer):
    """A dense layer with a mean-field Gaussian posterior over its weights and biases (Bayes by backprop).

    Inputs ``(batch, in_features)`` → outputs ``(batch, units)``. Variables: ``kernel_loc``, ``kernel_rho``
    ``(in_features, units)``, ``bias_loc``, ``bias_rho`` ``(units,)``; ``scale = softplus(rho)``. In training
    each call draws one weight sample (``loc + scale · ε``, ``ε ~ N(0, 1)``: the reparameterisation trick) and adds
    ``kl_weight · KL(q ‖ N(0, prior_scale²))`` to the model's losses. Outside training it uses the posterior
    mean, unless ``sample=True`` is passed.

    ``initial_rho``: ``None`` (the source) starts every mean and ρ from ``N(0, 1)``; a number starts the means from
    ``N(0, 2 / in_features)`` (biases at 0) and every ρ at that number.
    """

    def __init__(self, units: int, prior_scale: float = 1.0, kl_weight: float = 1.0, seed: int | None = None,
                 initial_rho: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer; got {units!r}")
        if not prior_scale > 0 or not kl_weight >= 0:
            raise ValueError(f"prior_scale must be > 0 and kl_weight >= 0; got {prior_scale}, {kl_weight}")
        self.units, self.prior_scale, self.kl_weight, self.seed = units, float(prior_scale), float(kl_weight), seed
        self.initial_rho = None if initial_rho is None else float(initial_rho)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        in_features = int(input_shape[-1])
        if self.initial_rho is None:      # the source: every variable from tf.random_normal, N(0, 1)
            loc_init = rho_init = keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed)
        else:                             # Bayes by backprop's usual start: He-scaled means, small scales
            loc_init = keras.initializers.RandomNormal(0.0, float(np.sqrt(2.0 / in_features)), seed=self.seed)
            rho_init = keras.initializers.Constant(self.initial_rho)
        self.kernel_loc = self.add_weight(shape=(in_features, self.units), initializer=loc_init, name="kernel_loc")
        self.kernel_rho = self.add_weight(shape=(in_features, self.units), initializer=rho_init, name="kernel_rho")
        self.bias_loc = self.add_weight(shape=(self.units,), initializer=loc_init if self.initial_rho is None
                                        else "zeros", name="bias_loc")
        self.bias_rho = self.add_weight(shape=(self.units,), initializer=rho_init, name="bias_rho")

    def kl_divergence(self):
        """``KL(q(W, b) ‖ p(W, b))`` in closed form (a scalar tensor, not weighted)."""
        return (gaussian_kl(self.kernel_loc, ops.softplus(self.kernel_rho), 0.0, self.prior_scale)
                + gaussian_kl(self.bias_loc, ops.softplus(self.bias_rho), 0.0, self.prior_scale))

    def call(self, inputs, training=None, sample=None):
        draw = bool(training) if sample is None else sample
        kernel, bias = self.kernel_loc, self.bias_loc
        if draw:
            kernel = kernel + ops.softplus(self.kernel_rho) * keras.random.normal(
                ops.shape(kernel), seed=self.seed_generator)
            bias = bias + ops.softplus(self.bias_rho) * keras.random.normal(ops.shape(bias), seed=self.seed_generator)
        if training and self.kl_weight > 0:
            self.add_loss(self.kl_weight * self.kl_divergence())
        return ops.matmul(inputs, kernel) + bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "prior_scale": self.prior_scale,
                "kl_weight": self.kl_weight, "seed": self.seed, "initial_rho": self.initial_rho}


HIDDEN_INITIAL_RHO = -3.0   # with a hidden layer: every scale starts at softplus(−3) ≈ 0.049, not N(0, 1) …
HIDDEN_LEARNING_RATE = 0.01  # … and train with Adam at 0.01, not the source's 0.1 (what the smoke test uses)


def build_bayesian_softmax_regression(n_train: int, n_features: int = N_FEATURES, n_classes: int = N_CLASSES,
                                      learning_rate: float | None = None, decay_steps: int = 100,
                                      decay_rate: float = 0.9, seed: int | None = 42,
                                      hidden_units: int | None = None) -> keras.Model:
    """The source's model: ``(batch, 784)`` → logits ``(batch, 10)`` through one :class:`BayesianDense`, compiled
    with sparse categorical cross-entropy (from logits) + ``KL / n_train`` and Edward's default optimiser (Adam,
    ``learning_rate`` (default 0.1) decayed by ``decay_rate`` every ``decay_steps`` steps). 7,850 means + 7,850 ρ
    = 15,700 trainable values.

    ``hidden_units`` (beyond the source): put a Bayesian ReLU hidden layer of that width in front. Both layers then
    start as Bayes by backprop usually does (He-scaled means, ρ = :data:`HIDDEN_INITIAL_RHO`) and the default
    learning rate is :data:`HIDDEN_LEARNING_RATE`. With the source's N(0, 1) start, 784 inputs give pre-activations
    in the tens: in our smoke runs (64 hidden units) that stayed near chance, 0.10–0.14 validation accuracy at
    Adam 0.1 and 0.01, while this start reaches about 0.9 (tested: above 0.6).
    """
    if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
        raise ValueError(f"n_train must be a positive integer (the training-set size N); got {n_train!r}")
    if learning_rate is None:
        learning_rate = 0.1 if hidden_units is None else HIDDEN_LEARNING_RATE
    initial_rho = None if hidden_units is None else HIDDEN_INITIAL_RHO
    inputs = keras.Input((n_features,), name="pixels")
    features = inputs
    if hidden_units is not None:
        features = BayesianDense(hidden_units, kl_weight=1.0 / n_train, seed=None if seed is None else seed + 1,
                                 initial_rho=initial_rho, name="bayesian_hidden")(features)
        features = keras.layers.ReLU()(features)
    logits = BayesianDense(n_classes, kl_weight=1.0 / n_train, seed=seed, initial_rho=initial_rho,
                           name="bayesian_softmax")(features)
    name = "bayesian_softmax_regression" if hidden_units is None else "bayesian_mlp"
    model = keras.Model(inputs, logits, name=name)
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase=True)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def flatten_images(images) -> np.ndarray:
    """uint8 ``(n, 28, 28)`` in 0..255 → float32 ``(n, 784)`` in 0..1 (the source's ``load_dataset``)."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width); got {images.shape}")
    return (images.reshape(len(images), -1) / 255.0).astype("float32")


def sample_posterior(layer: BayesianDense, n_samples: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` draws from ``q``: kernels ``(n_samples, in, units)`` and biases ``(n_samples, units)``."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    rng = np.random.default_rng(seed)
    loc, rho, bias_loc, bias_rho = (keras.ops.convert_to_numpy(v).astype("float64") for v in
                                    (layer.kernel_loc, layer.kernel_rho, layer.bias_loc, layer.bias_rho))
    kernels = loc + np.logaddexp(0.0, rho) * rng.standard_normal((n_samples, *loc.shape))
    biases = bias_loc + np.logaddexp(0.0, bias_rho) * rng.standard_normal((n_samples, *bias_loc.shape))
    return kernels, biases


def predictive_probabilities(x, kernels: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """Softmax outputs of every draw: ``(n_samples, n_examples, n_classes)`` for x ``(n_examples, in)``."""
    logits = np.einsum("ni,sic->snc", np.asarray(x, dtype="float64"), kernels) + biases[:, None, :]
    logits -= logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=-1, keepdims=True)


def per_draw_accuracy(probabilities: np.ndarray, labels) -> np.ndarray:
    """Test accuracy in % of each draw's argmax predictions (the source's list of 30 accuracies)."""
    return (probabilities.argmax(axis=-1) == np.asarray(labels)[None, :]).mean(axis=1) * 100.0


def predictive_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy (nats) of the mean predictive distribution, per example: ``(n_samples, n, c)`` → ``(n,)``."""
    mean = probabilities.mean(axis=0)
    return -(mean * np.log(np.clip(mean, 1e-12, 1.0))).sum(axis=-1)


def mutual_information(probabilities: np.ndarray) -> np.ndarray:
    """Disagreement between draws (epistemic part of the entropy): ``H[mean p] − mean H[p]``, per example."""
    expected = -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(axis=-1).mean(axis=0)
    return predictive_entropy(probabilities) - expected


def vote_disagreement(probabilities: np.ndarray) -> np.ndarray:
    """``1 − (share of draws voting for the most voted class)``, per example (0: all draws agree)."""
    votes = probabilities.argmax(axis=-1)                                   # (samples, n)
    n_classes = probabilities.shape[-1]
    counts = np.stack([(votes == c).sum(axis=0) for c in range(n_classes)])  # (classes, n)
    return 1.0 - counts.max(axis=0) / votes.shape[0]


def auroc(in_distribution_scores, out_of_distribution_scores) -> float:
    """Area under the ROC curve of "flag as out-of-distribution when the score is high".

    Equals the probability that a random OOD example scores higher than a random in-distribution one (ties count
    one half): the Mann–Whitney U statistic divided by ``n_in · n_out``. 0.5 = no better than chance, 1 = perfect.
    """
    negatives = np.asarray(in_distribution_scores, dtype="float64").ravel()
    positives = np.asarray(out_of_distribution_scores, dtype="float64").ravel()
    if negatives.size == 0 or positives.size == 0:
        raise ValueError("both score arrays must be non-empty")
    scores = np.concatenate([negatives, positives])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size)
    ranks[order] = np.arange(1, scores.size + 1)
    for value in np.unique(scores):                     # average ranks of ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    u = ranks[negatives.size:].sum() - positives.size * (positives.size + 1) / 2
    return float(u / (negatives.size * positives.size))


def accuracy_after_rejection(probabilities: np.ndarray, labels, uncertainty,
                             fractions=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5)) -> list[tuple[float, float]]:
    """Accuracy of the mean prediction on what is left after rejecting the most uncertain fraction of examples.

    Returns ``[(fraction, accuracy), ...]``; ties in ``uncertainty`` are broken by position (stable sort).
    """
    labels = np.asarray(labels)
    predictions = probabilities.mean(axis=0).argmax(axis=-1)
    order = np.argsort(np.asarray(uncertainty), kind="stable")     # most certain first
    rows = []
    for fraction in fractions:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"fractions must be in [0, 1); got {fraction}")
        keep = order[:max(1, int(round(len(labels) * (1.0 - fraction))))]
        rows.append((float(fraction), float((predictions[keep] == labels[keep]).mean())))
    return rows


def train(settings, mnist_data, run_dir, seed: int = 42, verbose="auto"):
    """Fit the source's model on (a slice of) ``((x_train, y_train), (x_test, y_test))``; returns
    ``(model, result, (x_train, y_train), (x_test, y_test))`` with x flattened to ``(n, 784)`` floats."""
    from chapters_src import training

    (x_train, y_train), (x_test, y_test) = mnist_data
    if settings.train_examples is not None:
        x_train, y_train = x_train[:settings.train_examples], y_train[:settings.train_examples]
    x_train, x_test = flatten_images(x_train), flatten_images(x_test)
    y_train, y_test = np.asarray(y_train, "int64"), np.asarray(y_test, "int64")
    keras.utils.set_random_seed(seed)
    model = build_bayesian_softmax_regression(len(x_train), learning_rate=settings.learning_rate,
                                              decay_steps=settings.decay_steps, decay_rate=settings.decay_rate,
                                              seed=seed)
    result = training.fit(model, x_train, y_train, validation_data=(x_test, y_test), epochs=settings.epochs,
                          batch_size=settings.batch_size, run_dir=run_dir, verbose=verbose)
    return model, result, (x_train, y_train), (x_test, y_test)
