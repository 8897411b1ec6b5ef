"""The two small experiments learn in the smoke profile; the ImageNet winners table carries its sources."""
import dataclasses

import numpy as np
import pytest

from chapters_src import data
from chapters_src.cnn import cnn1_experiments as experiments
from chapters_src.cnn import cnn1_settings


@pytest.fixture(scope="module")
def settings():
    return cnn1_settings.ARCHITECTURE_SETTINGS.get("smoke")


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist").data


def test_prepare_digits_pools(mnist):
    (x, y), (x_test, _) = experiments.prepare_digits(mnist, 7, train_examples=30)
    assert x.shape == (30, 7, 7, 1) and x_test.shape[1:] == (7, 7, 1) and 0 <= x.min() and x.max() <= 1
    expected = mnist[1][0][0].astype("float32").reshape(7, 4, 7, 4).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(x_test[0, ..., 0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="image_size"):
        experiments.prepare_digits(mnist, 10)


def test_bn_mlp_layout():
    plain, with_bn = experiments.build_bn_mlp(49, False), experiments.build_bn_mlp(49, True)
    assert [l.name for l in with_bn.layers if "bn" in l.name] == ["bn1", "bn2", "bn3"]
    # BN replaces each Dense bias (100) by γ, β and two moving statistics (4 × 100)
    assert with_bn.count_params() - plain.count_params() == 3 * (400 - 100)


def test_batch_norm_experiment_learns_and_bn_is_not_slower(settings, mnist):
    runs = experiments.batch_norm_experiment(settings, mnist)
    plain, bn = runs["without BN"], runs["with BN"]
    assert plain.percentiles.shape == (len(plain.steps), 3) and plain.steps[-1] == settings.bn_steps
    assert np.all(np.diff(bn.percentiles, axis=1) >= 0)                      # 15th ≤ 50th ≤ 85th
    assert max(bn.accuracy) > 0.6 and max(plain.accuracy) > 0.3               # chance: 0.1
    target = 0.6
    bn_steps, plain_steps = bn.steps_to_reach(target), plain.steps_to_reach(target)
    assert bn_steps is not None and (plain_steps is None or bn_steps <= plain_steps + settings.bn_eval_every)
    # with BN the sigmoid input stays centred and of unit scale; without it, it drifts (the paper's panels b/c)
    assert abs(bn.percentiles[-1, 1]) < 1.0 and bn.percentiles[-1, 2] - bn.percentiles[-1, 0] < 4.0


def test_residual_experiment_learns(settings, mnist):
    # the deeper of the two smoke depths only (the notebook trains both): plain and residual
    settings = dataclasses.replace(settings, residual_blocks=settings.residual_blocks[-1:])
    histories = experiments.residual_experiment(settings, mnist)
    depths = [2 * b + 2 for b in settings.residual_blocks]
    assert set(histories) == {f"{kind}-{d}" for kind in ("plain", "ResNet") for d in depths}
    deepest = histories[f"ResNet-{depths[-1]}"]
    assert len(deepest["val_error"]) == settings.residual_epochs
    assert deepest["error"][-1] < deepest["error"][0]
    assert min(deepest["val_error"]) < 0.9 - 0.3                              # chance: 0.9 error
    assert experiments.build_plain_or_residual(3, True).count_params() == \
        experiments.build_plain_or_residual(3, False).count_params() + 16 * 32 + 4 * 32   # the projection only


def test_imagenet_winners_table():
    years = [row["year"] for row in experiments.IMAGENET_WINNERS]
    assert years == list(range(2011, 2017))
    errors = [row["top5"] for row in experiments.IMAGENET_WINNERS]
    assert errors == sorted(errors, reverse=True) and errors[1] == 15.3 and errors[3] == 6.67 and errors[4] == 3.57
    assert all(row["source"] for row in experiments.IMAGENET_WINNERS)
    wrong = [row["year"] for row in experiments.IMAGENET_WINNERS
             if row["article"] is not None and row["article"] != row["top5"]]
    assert wrong == [2013, 2014, 2015]                                        # the article's quoted values
    figure = experiments.plot_imagenet_winners()
    assert len(figure.axes[0].patches) == 6
