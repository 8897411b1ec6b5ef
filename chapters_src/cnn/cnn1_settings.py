"""Hyperparameters of the two "Advanced CNNs I" notebooks (classic architectures; pretrained models and transfer
learning), one frozen dataclass per profile. ``full`` holds the source's values where it gives any."""
from __future__ import annotations

from dataclasses import dataclass

from ..profiles import ProfileSet


@dataclass(frozen=True)
class ArchitectureSettings:
    """Notebook 02. ``build_live``: rebuild every network in the notebook (else read the stored tables that the
    tests verify; building all fifteen costs about a minute of CPU, so only ``full`` does). BN experiment (Ioffe & Szegedy 2015, Fig. 1: 3 × Dense(100, sigmoid), batches of 60, 50,000
    steps on MNIST). Residual experiment (He et al. 2016, Fig. 4: plain/residual 18 and 34 layers on ImageNet)."""

    build_live: bool
    image_size: int                 # digits are average-pooled from 28×28 to this size for the experiments
    bn_steps: int
    bn_batch_size: int
    bn_eval_every: int
    bn_learning_rate: float
    residual_blocks: tuple[int, int]   # two depths: number of two-layer blocks (layers = 2·blocks + 2)
    residual_width: int
    residual_epochs: int
    residual_batch_size: int
    residual_train_examples: int | None


@dataclass(frozen=True)
class TransferSettings:
    """Notebook 03. The source's recipe: head GAP → Dense(1024, relu) → Dense(n, softmax); phase 1 RMSprop with
    the base frozen; phase 2 unfreezes the top blocks and uses SGD(1e-4, momentum 0.9). Epochs are not given in
    the source ("a few"). The offline demo pretrains a small CNN on digits 0–4 and transfers it to 5–9."""

    hidden_units: int
    pretrain_epochs: int
    phase1_epochs: int
    phase2_epochs: int
    scratch_epochs: int
    batch_size: int
    target_train_examples: int      # labelled examples of the new task (digits 5–9): small on purpose
    fine_tune_learning_rate: float
    base_width: int


ARCHITECTURE_SETTINGS = ProfileSet(
    smoke=ArchitectureSettings(build_live=False, image_size=7, bn_steps=150, bn_batch_size=60, bn_eval_every=10,
                               bn_learning_rate=0.5, residual_blocks=(1, 3), residual_width=8,
                               residual_epochs=3, residual_batch_size=32, residual_train_examples=None),
    standard=ArchitectureSettings(build_live=False, image_size=14, bn_steps=1_000, bn_batch_size=60,
                                  bn_eval_every=25, bn_learning_rate=0.5, residual_blocks=(2, 6),
                                  residual_width=16, residual_epochs=6, residual_batch_size=64,
                                  residual_train_examples=None),
    full=ArchitectureSettings(build_live=True, image_size=28, bn_steps=50_000, bn_batch_size=60, bn_eval_every=500,
                              bn_learning_rate=0.5, residual_blocks=(8, 16), residual_width=16, residual_epochs=30,
                              residual_batch_size=128, residual_train_examples=None),
)

TRANSFER_SETTINGS = ProfileSet(
    smoke=TransferSettings(hidden_units=128, pretrain_epochs=1, phase1_epochs=10, phase2_epochs=3, scratch_epochs=13,
                           batch_size=10, target_train_examples=100, fine_tune_learning_rate=1e-4, base_width=32),
    standard=TransferSettings(hidden_units=256, pretrain_epochs=5, phase1_epochs=30, phase2_epochs=10,
                              scratch_epochs=40, batch_size=10, target_train_examples=100,
                              fine_tune_learning_rate=1e-4, base_width=32),
    full=TransferSettings(hidden_units=1024, pretrain_epochs=20, phase1_epochs=40, phase2_epochs=20,
                          scratch_epochs=60, batch_size=10, target_train_examples=100,
                          fine_tune_learning_rate=1e-4, base_width=32),
)
