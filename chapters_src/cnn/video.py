"""Video classification six ways (plus ConvLSTM), after the sources' list of approaches, on small generated videos.

Every builder takes videos ``(batch, frames, height, width, channels)`` (or precomputed features) and returns
class probabilities ``(batch, classes)``:

1. :func:`build_frame_voting`: a 2-D CNN classifies every frame; the video label is the majority vote.
2. :func:`build_cnn_lstm`: ``TimeDistributed(CNN)`` + LSTM, trained end to end.
3. :func:`build_conv3d`: a 3-D ConvNet over (time, height, width).
4. :func:`build_feature_lstm`: frozen per-frame CNN features (computed once, "offline") + LSTM.
5. :func:`build_feature_mlp`: the same features + an MLP.
6. :func:`build_clip_feature_model`: C3D-style Conv3D features of 16-frame clips (:func:`split_into_clips`) +
   LSTM or MLP, as in the UPC ActivityNet pipeline (both heads are trained and compared).
7. :func:`build_conv_lstm`: ``ConvLSTM2D`` (the cookbook's "there's more").

:func:`compare_approaches` trains all of them on one label and returns a table of accuracy, parameters and time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np

from ..training import predict_in_batches as predict

APPROACHES = ("1 frame CNN + vote", "2 CNN+LSTM end to end", "3 Conv3D", "4 frozen features + LSTM",
              "5 frozen features + MLP", "6 C3D clips + LSTM", "6 C3D clips + MLP", "7 ConvLSTM2D")


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_video_shape(video_shape) -> tuple[int, int, int, int]:
    video_shape = tuple(video_shape)
    if len(video_shape) != 4:
        raise ValueError(f"video_shape must be (frames, height, width, channels); got {video_shape}")
    for value in video_shape:
        _check_int("every entry of video_shape", value)
    return video_shape


def _heads(x, n_classes):
    """Softmax head(s): ``n_classes`` an int → one output ``(batch, classes)``; a dict name → classes → a list of
    outputs in that order, each a layer named after its label (one model, several labels: trained once)."""
    from keras import layers

    if isinstance(n_classes, dict):
        if not n_classes:
            raise ValueError("n_classes must be a positive int or a non-empty dict label → classes")
        return [layers.Dense(_check_int(f"n_classes[{name!r}]", count), activation="softmax", name=name)(x)
                for name, count in n_classes.items()]
    return layers.Dense(_check_int("n_classes", n_classes), activation="softmax", name="classes")(x)


def split_into_clips(videos, clip_length: int = 16) -> np.ndarray:
    """``(frames, h, w, c)`` → ``(frames // L, L, h, w, c)``; a batch ``(n, frames, h, w, c)`` →
    ``(n, frames // L, L, h, w, c)``. Trailing frames that do not fill a clip are dropped (as C3D does)."""
    clip_length = _check_int("clip_length", clip_length)
    videos = np.asarray(videos)
    if videos.ndim not in (4, 5):
        raise ValueError(f"videos must be (frames, h, w, c) or (n, frames, h, w, c); got shape {videos.shape}")
    axis = videos.ndim - 4
    frames = videos.shape[axis]
    if frames < clip_length:
        raise ValueError(f"a video of {frames} frames holds no clip of {clip_length} frames")
    count = frames // clip_length
    kept = videos[:, : count * clip_length] if axis else videos[: count * clip_length]
    return kept.reshape(*videos.shape[:axis], count, clip_length, *videos.shape[axis + 1:])


def majority_vote(frame_predictions, n_classes: int | None = None) -> np.ndarray:
    """Per-frame class probabilities ``(batch, frames, classes)`` (or labels ``(batch, frames)``) → vote shares
    ``(batch, classes)``: the fraction of frames whose top class is each class. ``argmax`` of the result is the
    majority vote (ties go to the lowest class index)."""
    predictions = np.asarray(frame_predictions)
    if predictions.ndim == 3:
        n_classes = predictions.shape[-1]
        predictions = predictions.argmax(axis=-1)
    elif predictions.ndim != 2 or n_classes is None:
        raise ValueError("frame_predictions must be (batch, frames, classes), or (batch, frames) labels with n_classes")
    one_hot = np.eye(_check_int("n_classes", n_classes))[predictions]
    return one_hot.mean(axis=1)


def _frame_cnn(frame_shape, width: int, name: str):
    """A small 2-D CNN: frame ``(h, w, c)`` → flattened feature vector (``width·2`` maps at 1/4 resolution).
    Flatten, not global pooling, so the features keep where things are (motion needs positions)."""
    import keras
    from keras import layers

    frame = keras.Input(frame_shape)
    x = layers.Conv2D(width, 3, padding="same", activation="relu")(frame)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(2 * width, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    return keras.Model(frame, layers.Flatten()(x), name=name)


def build_frame_classifier(frame_shape, n_classes: int, *, width: int = 8):
    """Approach 1's image classifier: a frame ``(h, w, c)`` → ``(batch, classes)``; its layer ``frame_features``
    is the feature extractor reused (frozen) by approach 4."""
    import keras
    from keras import layers

    frame = keras.Input(tuple(frame_shape))
    features = _frame_cnn(tuple(frame_shape), width, "frame_features")(frame)
    return keras.Model(frame, _heads(features, n_classes), name="frame_classifier")


@keras.saving.register_keras_serializable(package="chapters_src")
class MajorityVote(keras.layers.Layer):
    """``(batch, frames, classes)`` probabilities → vote shares ``(batch, classes)`` (not differentiable)."""

    def call(self, frame_probabilities):
        from keras import ops

        classes = ops.shape(frame_probabilities)[-1]
        votes = ops.one_hot(ops.argmax(frame_probabilities, axis=-1), classes)
        return ops.mean(votes, axis=1)


def build_frame_voting(frame_classifier, video_shape):
    """Approach 1: apply a (trained) ``frame_classifier`` to every frame and vote. Videos → ``(batch, classes)``."""
    import keras
    from keras import layers

    video = keras.Input(_check_video_shape(video_shape))
    outputs = frame_classifier.outputs
    if len(outputs) == 1:
        per_frame = layers.TimeDistributed(frame_classifier, name="per_frame")(video)
        return keras.Model(video, MajorityVote(name="majority_vote")(per_frame), name="frame_voting")
    votes = []
    for index, output in enumerate(outputs):
        head = keras.Model(frame_classifier.inputs, output)
        per_frame = layers.TimeDistributed(head, name=f"per_frame_{index}")(video)
        votes.append(MajorityVote(name=output._keras_history.operation.name)(per_frame))
    return keras.Model(video, votes, name="frame_voting")


def build_cnn_lstm(video_shape, n_classes: int, *, width: int = 8, units: int = 16):
    """Approach 2: ``TimeDistributed`` 2-D CNN + LSTM, trained end to end. Videos → ``(batch, classes)``."""
    import keras
    from keras import layers

    video_shape = _check_video_shape(video_shape)
    video = keras.Input(video_shape)
    features = layers.TimeDistributed(_frame_cnn(video_shape[1:], width, "frame_cnn"), name="per_frame_cnn")(video)
    x = layers.LSTM(units, name="lstm")(features)
    return keras.Model(video, _heads(x, n_classes), name="cnn_lstm")


def _conv3d_trunk(video_shape, width: int, name: str):
    """C3D-style trunk: Conv3D 3×3×3 → MaxPool (1, 2, 2) → Conv3D → MaxPool (2, 2, 2) → Conv3D → global average.
    (C3D: 8 Conv3D 3×3×3 layers, 5 poolings, the first (1, 2, 2) so early layers keep the time resolution.)"""
    import keras
    from keras import layers

    video = keras.Input(video_shape)
    x = layers.Conv3D(width, 3, padding="same", activation="relu")(video)
    x = layers.MaxPooling3D((1, 2, 2))(x)
    x = layers.Conv3D(2 * width, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling3D((2, 2, 2))(x)
    x = layers.Conv3D(2 * width, 3, padding="same", activation="relu")(x)
    return keras.Model(video, layers.GlobalAveragePooling3D()(x), name=name)


def build_conv3d(video_shape, n_classes: int, *, width: int = 8):
    """Approach 3: a 3-D ConvNet (convolutions over time, height and width). Videos → ``(batch, classes)``."""
    import keras
    from keras import layers

    video_shape = _check_video_shape(video_shape)
    video = keras.Input(video_shape)
    features = _conv3d_trunk(video_shape, width, "conv3d_trunk")(video)
    return keras.Model(video, _heads(features, n_classes), name="conv3d")


def build_c3d_pretraining_model(clip_shape, n_classes: int, *, width: int = 8):
    """A C3D-style clip classifier ``(batch, L, h, w, c)`` → ``(batch, classes)`` whose layer ``c3d_features`` is
    the feature extractor of approach 6 (in the source: C3D pretrained on Sports-1M)."""
    import keras
    from keras import layers

    clip_shape = _check_video_shape(clip_shape)
    clip = keras.Input(clip_shape)
    features = _conv3d_trunk(clip_shape, width, "c3d_features")(clip)
    return keras.Model(clip, _heads(features, n_classes), name="c3d_pretraining")


def extract_features(extractor, videos, batch_size: int = 256) -> np.ndarray:
    """Run a frozen per-item extractor over ``(n, steps, ...)`` → ``(n, steps, features)`` ("offline")."""
    videos = np.asarray(videos)
    flat = videos.reshape(-1, *videos.shape[2:])
    features = predict(extractor, flat, batch_size)
    return features.reshape(videos.shape[0], videos.shape[1], -1)


def build_feature_lstm(steps: int, feature_size: int, n_classes: int, *, units: int = 16, dropout: float = 0.0):
    """Approaches 4 and 6: precomputed features ``(batch, steps, features)`` → LSTM → ``(batch, classes)``."""
    import keras
    from keras import layers

    features = keras.Input((_check_int("steps", steps), _check_int("feature_size", feature_size)))
    x = layers.LSTM(units, dropout=dropout, name="lstm")(features)
    return keras.Model(features, _heads(x, n_classes), name="feature_lstm")


def build_feature_mlp(steps: int, feature_size: int, n_classes: int, *, hidden: int = 64, dropout: float = 0.0):
    """Approaches 5 and 6: precomputed features ``(batch, steps, features)`` → Flatten (time order kept) → MLP."""
    import keras
    from keras import layers

    features = keras.Input((_check_int("steps", steps), _check_int("feature_size", feature_size)))
    x = layers.Dense(hidden, activation="relu")(layers.Flatten()(features))
    x = layers.Dropout(dropout)(x) if dropout else x
    return keras.Model(features, _heads(x, n_classes), name="feature_mlp")


def build_clip_feature_model(c3d_extractor, video_shape, clip_length: int, n_classes: int, *, head: str = "lstm",
                             units: int = 16):
    """Approach 6 end to end for inference: videos → clips → frozen C3D features → LSTM/MLP head.
    (Training uses :func:`extract_features` once and fits the head alone, which is the point of the approach.)"""
    import keras
    from keras import layers

    frames, height, width, channels = _check_video_shape(video_shape)
    clip_length = _check_int("clip_length", clip_length)
    steps = frames // clip_length
    if steps < 1:
        raise ValueError(f"clip_length {clip_length} is longer than the video ({frames} frames)")
    c3d_extractor.trainable = False
    video = keras.Input((frames, height, width, channels))
    clips = layers.Reshape((steps, clip_length, height, width, channels))(
        layers.Cropping3D(((0, frames - steps * clip_length), (0, 0), (0, 0)))(video))
    features = layers.TimeDistributed(c3d_extractor, name="c3d_per_clip")(clips)
    feature_size = int(c3d_extractor.output.shape[-1])
    builder = {"lstm": lambda: build_feature_lstm(steps, feature_size, n_classes, units=units),
               "mlp": lambda: build_feature_mlp(steps, feature_size, n_classes, hidden=4 * units)}
    if head not in builder:
        raise ValueError(f"head must be 'lstm' or 'mlp'; got {head!r}")
    return keras.Model(video, builder[head]()(features), name=f"c3d_clips_{head}")


def build_conv_lstm(video_shape, n_classes: int, *, width: int = 8):
    """Approach 7: ``ConvLSTM2D`` (Shi et al., 2015): input and recurrent transforms are convolutions."""
    import keras
    from keras import layers

    video_shape = _check_video_shape(video_shape)
    video = keras.Input(video_shape)
    x = layers.TimeDistributed(layers.MaxPooling2D(2), name="downsample")(video)
    x = layers.ConvLSTM2D(width, 3, padding="same", name="conv_lstm")(x)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    return keras.Model(video, _heads(x, n_classes), name="conv_lstm")


# ------------------------------------------------------------------------------------------------------------
# Training all approaches
# ------------------------------------------------------------------------------------------------------------

@dataclass
class ApproachResult:
    """One row of the comparison: ``accuracy`` maps each label ("appearance", "motion") to test accuracy;
    ``parameters`` counts trainable + frozen weights; ``train_seconds`` includes feature extraction for 4–6;
    ``model`` makes the predictions (for 4–6: the head, fed with features)."""

    approach: str
    accuracy: dict
    parameters: int
    train_seconds: float
    model: object = None


LABELS = ("appearance", "motion")


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _fit(model, x, y, settings, jit_compile=False, seed=0):
    """Adam + sparse categorical cross-entropy (one per head) + accuracy, ``settings.epochs`` epochs, silent."""
    import keras

    keras.utils.set_random_seed(seed)
    heads = len(model.outputs)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                  loss=["sparse_categorical_crossentropy"] * heads if heads > 1 else "sparse_categorical_crossentropy",
                  metrics=[["accuracy"]] * heads if heads > 1 else ["accuracy"], jit_compile=jit_compile)
    model.fit(x, y, epochs=settings.epochs, batch_size=settings.batch_size, verbose=0, shuffle=True)
    return model


def _accuracy(probabilities, labels) -> float:
    return float((np.asarray(probabilities).argmax(axis=-1) == np.asarray(labels)).mean())


@dataclass
class Extractors:
    """The frozen feature extractors of approaches 4–6, trained once on a separate "pretraining" video set."""

    frame_features: object
    c3d_features: object
    seconds: float


def pretrain_extractors(pretrain_set, settings, *, jit_compile: bool = False, seed: int = 0) -> Extractors:
    """Train the extractors on a *different* video set, the way the sources use ImageNet / Sports-1M weights:

    - frame CNN: classifies single frames by shape (appearance only, like an ImageNet CNN);
    - C3D: classifies the first clip of ``settings.clip_length`` frames by shape and by direction (two heads).
    """
    start = time.perf_counter()
    videos = pretrain_set.videos
    n, frames, h, w, c = videos.shape
    stride = max(1, frames // 4)
    frame_model = build_frame_classifier((h, w, c), len(pretrain_set.shape_names), width=settings.width)
    frame_x = videos[:, ::stride].reshape(-1, h, w, c)
    frame_y = np.repeat(pretrain_set.shape_labels, len(range(0, frames, stride)))
    _fit(frame_model, frame_x, frame_y, settings, jit_compile, seed)
    clips = split_into_clips(videos, settings.clip_length)[:, 0]
    c3d_model = build_c3d_pretraining_model(clips.shape[1:], _label_sizes(pretrain_set), width=settings.width)
    _fit(c3d_model, clips, [pretrain_set.labels(label) for label in LABELS], settings, jit_compile, seed)
    frame_features, c3d_features = frame_model.get_layer("frame_features"), c3d_model.get_layer("c3d_features")
    frame_features.trainable = c3d_features.trainable = False
    return Extractors(frame_features, c3d_features, time.perf_counter() - start)


def _label_sizes(video_set) -> dict:
    return {label: len(video_set.class_names(label)) for label in LABELS}


def _cached_features(cache, name: str, extractor, train_input, test_input):
    """``(train_features, test_features, extraction seconds)``, computed once per extractor when ``cache`` is a dict
    (approaches 4 and 5 share the frame features, the two heads of 6 the clip features)."""
    if cache is not None and name in cache:
        return cache[name]
    start = time.perf_counter()
    value = (extract_features(extractor, train_input), extract_features(extractor, test_input),
             time.perf_counter() - start)
    if cache is not None:
        cache[name] = value
    return value


def train_approach(approach: str, train_set, test_set, settings, extractors: Extractors, *,
                   jit_compile: bool = False, seed: int = 0, feature_cache: dict | None = None) -> ApproachResult:
    """Train one approach (a name from :data:`APPROACHES`) with two heads, appearance and motion, at once;
    score each head on ``test_set``.

    Approach 1 trains its frame classifier on every ``frames // 8``-th frame of each training video (the frames
    look alike; the vote at test time uses every frame). Approaches 4–6 extract their features once per
    ``feature_cache`` dict; their ``train_seconds`` always include the extraction time."""
    import keras

    if approach not in APPROACHES:
        raise ValueError(f"approach must be one of {APPROACHES}; got {approach!r}")
    x, x_test = train_set.videos, test_set.videos
    y = [train_set.labels(label) for label in LABELS]
    n_classes = _label_sizes(train_set)
    video_shape = x.shape[1:]
    frames, h, w, c = video_shape
    start = time.perf_counter()
    number = approach[0]
    extraction_seconds = 0.0
    if number == "1":
        classifier = build_frame_classifier((h, w, c), n_classes, width=settings.width)
        kept = x[:, :: max(1, frames // 8)]
        _fit(classifier, kept.reshape(-1, h, w, c), [np.repeat(labels, kept.shape[1]) for labels in y], settings,
             jit_compile, seed)
        model = build_frame_voting(classifier, video_shape)
        probabilities = predict(model, x_test)
        parameters = classifier.count_params()
    elif number in "237":
        builder = {"2": lambda: build_cnn_lstm(video_shape, n_classes, width=settings.width,
                                               units=settings.recurrent_units),
                   "3": lambda: build_conv3d(video_shape, n_classes, width=settings.width),
                   "7": lambda: build_conv_lstm(video_shape, n_classes, width=settings.width)}[number]
        keras.utils.set_random_seed(seed)
        model = _fit(builder(), x, y, settings, jit_compile, seed)
        probabilities = predict(model, x_test)
        parameters = model.count_params()
    else:
        if number in "45":
            name, extractor, train_input, test_input = "frame", extractors.frame_features, x, x_test
        else:
            name, extractor = "c3d", extractors.c3d_features
            train_input = split_into_clips(x, settings.clip_length)
            test_input = split_into_clips(x_test, settings.clip_length)
        train_features, test_features, extraction_seconds = _cached_features(feature_cache, name, extractor,
                                                                              train_input, test_input)
        start = time.perf_counter()                 # extraction_seconds is added once, below
        steps, size = train_features.shape[1:]
        keras.utils.set_random_seed(seed)
        head = (build_feature_mlp(steps, size, n_classes, hidden=4 * settings.recurrent_units)
                if approach.endswith("MLP") else build_feature_lstm(steps, size, n_classes,
                                                                    units=settings.recurrent_units))
        model = _fit(head, train_features, y, settings, jit_compile, seed)
        probabilities = predict(model, test_features)
        parameters = head.count_params() + extractor.count_params()
    seconds = time.perf_counter() - start + extraction_seconds
    accuracy = {label: _accuracy(p, test_set.labels(label)) for label, p in zip(LABELS, _as_list(probabilities))}
    return ApproachResult(approach, accuracy, int(parameters), seconds, model)


def compare_approaches(train_set, test_set, settings, extractors: Extractors, *, approaches=APPROACHES,
                       jit_compile: bool = False, seed: int = 0, verbose: bool = True):
    """Train every approach once (two heads); returns a list of :class:`ApproachResult`. Frozen features are
    extracted once and shared by the heads that use them."""
    results, feature_cache = [], {}
    for approach in approaches:
        result = train_approach(approach, train_set, test_set, settings, extractors, jit_compile=jit_compile,
                                seed=seed, feature_cache=feature_cache)
        if verbose:
            scores = "  ".join(f"{name} {value:.3f}" for name, value in result.accuracy.items())
            print(f"{approach:26} {scores}  params {result.parameters:>8,}  {result.train_seconds:5.1f} s", flush=True)
        results.append(result)
    return results


def results_table(results) -> str:
    """A Markdown table: approach, accuracy per label, parameters, training seconds."""
    lines = ["| approach | appearance accuracy | motion accuracy | parameters | seconds |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.approach} | {r.accuracy['appearance']:.3f} | {r.accuracy['motion']:.3f} | "
                     f"{r.parameters:,} | {r.train_seconds:.1f} |")
    return "\n".join(lines)
