"""Video chapter: clip splitting, majority vote, every builder's output shape, frozen extractors, and the point of
the chapter: frame voting is near chance on motion while a temporal model is not (smoke, fixed seed)."""
import dataclasses

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chapters_src.cnn import cnn4_settings, video  # noqa: E402
from chapters_src.data import media  # noqa: E402

SHAPE = (16, 12, 12, 1)


def test_split_into_clips():
    clips = video.split_into_clips(np.arange(40 * 2 * 2).reshape(40, 2, 2, 1), 16)
    assert clips.shape == (2, 16, 2, 2, 1)
    assert clips[1, 0, 0, 0, 0] == 16 * 4                      # second clip starts at frame 16
    assert video.split_into_clips(np.zeros((3, 32, 4, 4, 1)), 16).shape == (3, 2, 16, 4, 4, 1)
    with pytest.raises(ValueError, match="clip"):
        video.split_into_clips(np.zeros((8, 4, 4, 1)), 16)


def test_majority_vote():
    shares = video.majority_vote(np.array([[0, 0, 1, 2, 0], [3, 3, 1, 1, 1]]), n_classes=4)
    np.testing.assert_allclose(shares, [[0.6, 0.2, 0.2, 0.0], [0.0, 0.6, 0.0, 0.4]])
    probabilities = np.eye(3)[[[2, 2, 0]]]
    assert video.majority_vote(probabilities).argmax() == 2


def test_every_builder_outputs_batch_by_classes():
    x = np.random.default_rng(0).random((2, *SHAPE)).astype("float32")
    frame = video.build_frame_classifier(SHAPE[1:], 4)
    models = [video.build_frame_voting(frame, SHAPE), video.build_cnn_lstm(SHAPE, 4), video.build_conv3d(SHAPE, 4),
              video.build_conv_lstm(SHAPE, 4)]
    for model in models:
        assert tuple(model.predict(x, verbose=0).shape) == (2, 4), model.name
    votes = models[0].predict(x, verbose=0)
    np.testing.assert_allclose(votes.sum(axis=1), 1)
    np.testing.assert_allclose(votes * SHAPE[0], np.round(votes * SHAPE[0]), atol=1e-5)   # shares of 16 frames
    features = np.zeros((2, 16, 20), "float32")
    assert video.build_feature_lstm(16, 20, 4).predict(features, verbose=0).shape == (2, 4)
    assert video.build_feature_mlp(16, 20, 4).predict(features, verbose=0).shape == (2, 4)
    c3d = video.build_c3d_pretraining_model((8, 12, 12, 1), 4).get_layer("c3d_features")
    for head in ("lstm", "mlp"):
        clip_model = video.build_clip_feature_model(c3d, SHAPE, 8, 4, head=head)
        assert clip_model.predict(x, verbose=0).shape == (2, 4)
    assert not c3d.trainable                                   # approach 6 freezes its extractor
    two_heads = video.build_conv3d(SHAPE, {"appearance": 4, "motion": 4})
    assert [tuple(o.shape) for o in two_heads.predict(x, verbose=0)] == [(2, 4), (2, 4)]


def test_frame_voting_is_near_chance_on_motion_and_conv3d_is_not():
    settings = dataclasses.replace(cnn4_settings.VIDEO.get("smoke"), n_videos=200)
    videos = media.moving_shapes(n_videos=settings.n_videos, frames=settings.frames, size=settings.size, seed=0)
    split = 150
    train = media.VideoSet(videos.videos[:split], videos.shape_labels[:split], videos.motion_labels[:split])
    test = media.VideoSet(videos.videos[split:], videos.shape_labels[split:], videos.motion_labels[split:])
    extractors = video.Extractors(None, None, 0.0)
    voting = video.train_approach(video.APPROACHES[0], train, test, settings, extractors)
    conv3d = video.train_approach(video.APPROACHES[2], train, test, settings, extractors)
    assert voting.accuracy["appearance"] > 0.8                 # appearance is in every frame
    assert voting.accuracy["motion"] < 0.25 + 0.2              # a single frame says nothing about direction
    assert conv3d.accuracy["motion"] > 0.25 + 0.3              # time makes it solvable


def test_clip_feature_heads_are_both_trained_and_share_the_extraction():
    settings = dataclasses.replace(cnn4_settings.VIDEO.get("smoke"), epochs=1)
    videos = media.moving_shapes(n_videos=24, frames=settings.frames, size=12, seed=3)
    train = media.VideoSet(videos.videos[:16], videos.shape_labels[:16], videos.motion_labels[:16])
    test = media.VideoSet(videos.videos[16:], videos.shape_labels[16:], videos.motion_labels[16:])
    clip_shape = (settings.clip_length, 12, 12, 1)
    c3d = video.build_c3d_pretraining_model(clip_shape, 4, width=4).get_layer("c3d_features")
    extractors = video.Extractors(None, c3d, 0.0)
    assert {"6 C3D clips + LSTM", "6 C3D clips + MLP"} <= set(video.APPROACHES)
    cache = {}
    lstm = video.train_approach("6 C3D clips + LSTM", train, test, settings, extractors, feature_cache=cache)
    features = cache["c3d"][0]
    mlp = video.train_approach("6 C3D clips + MLP", train, test, settings, extractors, feature_cache=cache)
    assert cache["c3d"][0] is features                       # extracted once, used by both heads
    assert mlp.model.name == "feature_mlp" and lstm.model.name == "feature_lstm"
    assert set(mlp.accuracy) == {"appearance", "motion"} and mlp.train_seconds >= cache["c3d"][2]
