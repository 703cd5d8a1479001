"""Schemas of the `model` group: every default and range of a model's keys; the `_target_` (which class) is written
in the option's YAML (conf/model/<option>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import (
    ACTIVATION,
    FRACTION,
    INIT,
    INIT_DISTRIBUTION,
    MAX_DEPTH,
    MAX_WIDTH,
    NON_NEGATIVE,
    SHAPE,
    Check,
    ChoiceOf,
    above,
    at_least,
    checked,
    follows,
    int_in,
)

DROPOUT = "regularization.dropout"  # every model's dropout follows the regularization group's


@dataclass
class MLPConfig:
    """Multi-layer perceptron (src/levers/models/mlp.py); in/out sizes come from the data."""

    _target_: str = MISSING
    _partial_: bool = True
    depth: int = checked(2, int_in(0, MAX_DEPTH, f"0..{MAX_DEPTH} hidden layers (0 = a linear model)"))
    width: int = checked(256, int_in(1, MAX_WIDTH, f"1..{MAX_WIDTH} units per hidden layer"))  # the first layer's
    shape: str = checked("constant", SHAPE)  # constant | funnel (first layer widest, halving after)
    activation: str = checked("relu", ACTIVATION)  # relu | leaky_relu | elu | selu | gelu | tanh | sigmoid
    dropout: float = checked(follows(DROPOUT), FRACTION)
    batchnorm: bool = False
    init: str = checked("auto", INIT)  # auto (He / LeCun / Glorot from the activation) | he | lecun | glorot | default
    init_distribution: str = checked("uniform", INIT_DISTRIBUTION)  # uniform | normal
    bias_init: float = 0.0
    # none | periodic | piecewise: each numeric input becomes a vector before the first layer (Gorishniy et al.
    # 2022): sin/cos of trainable frequencies, or piecewise-linear over train-split quantile bins; then Linear+ReLU
    numeric_embedding: str = checked("none", ChoiceOf("levers.models.embeddings", "NUMERIC_EMBEDDINGS"))
    numeric_embedding_size: int = checked(16, int_in(1, 1024, "1..1024 units per numeric feature"))
    periodic_sigma: float = checked(0.1, above(0))  # std of the initial frequencies: the paper's key knob
    piecewise_bins: int = checked(16, int_in(1, 1024, "1..1024 quantile bins per numeric feature"))


@dataclass
class AutoencoderConfig:
    """Encoder MLP -> code -> mirrored decoder (src/levers/models/autoencoder.py), for data.task=reconstruction;
    in/out sizes (both the feature count) come from the data."""

    _target_: str = MISSING
    _partial_: bool = True
    code_size: int = checked(8, int_in(1, MAX_WIDTH, f"1..{MAX_WIDTH} code units (the bottleneck)"))
    # the encoder's hidden widths, e.g. [128, 64] (the decoder mirrors them); null: depth x width by `shape`
    encoder_widths: list[int] | None = None
    depth: int = checked(1, int_in(0, MAX_DEPTH, f"0..{MAX_DEPTH} hidden encoder layers (0: code from the input)"))
    width: int = checked(64, int_in(1, MAX_WIDTH, f"1..{MAX_WIDTH} units per hidden layer"))
    shape: str = checked("constant", SHAPE)
    activation: str = checked("relu", ACTIVATION)  # of the hidden layers
    # of the code layer: relu gives exact zeros, so an L1 activity penalty makes a sparse code; linear: no activation
    code_activation: str = checked("relu", ChoiceOf("levers.models.autoencoder", "CODE_ACTIVATIONS"))
    dropout: float = checked(follows(DROPOUT), FRACTION)  # hidden layers only, never the code
    batchnorm: bool = False
    init: str = checked("auto", INIT)
    init_distribution: str = checked("uniform", INIT_DISTRIBUTION)
    bias_init: float = 0.0


@dataclass
class CNNConfig:
    """Small convolutional net for image data (src/levers/models/cnn.py); needs data with image_shape."""

    _target_: str = MISSING
    _partial_: bool = True
    image_shape: Any = "${data.image_shape}"
    channels: list[int] = field(default_factory=lambda: [32, 64])  # one conv block per entry
    kernel_size: int = 3
    pool: str = "max"  # max | avg | none (2x2 after each block while the map is >= 4 wide)
    head: str = "avg"  # avg: global average pool (size-independent) | flatten: keep the map's layout
    scale: float = checked(0.0, NON_NEGATIVE)  # compound scaling's phi: depth, width, resolution grow together
    scale_depth: float = checked(1.2, at_least(1))  # alpha: blocks x alpha^phi (EfficientNet's published bases)
    scale_width: float = checked(1.1, at_least(1))  # beta: channels x beta^phi
    scale_resolution: float = checked(1.15, at_least(1))  # gamma: input height and width x gamma^phi
    activation: str = checked("relu", ACTIVATION)
    dropout: float = checked(follows(DROPOUT), FRACTION)
    batchnorm: bool = True
    init: str = checked("auto", INIT)
    init_distribution: str = checked("uniform", INIT_DISTRIBUTION)
    bias_init: float = 0.0


@dataclass
class RNNConfig:
    """Recurrent net reading an image row by row (src/levers/models/rnn.py); needs data with image_shape."""

    _target_: str = MISSING
    _partial_: bool = True
    image_shape: Any = "${data.image_shape}"
    cell: str = "gru"  # gru | lstm
    hidden_size: int = checked(64, int_in(1, MAX_WIDTH))
    num_layers: int = checked(1, int_in(1, MAX_DEPTH))
    bidirectional: bool = False
    dropout: float = checked(follows(DROPOUT), FRACTION)
    init: str = checked("auto", INIT)
    init_distribution: str = checked("uniform", INIT_DISTRIBUTION)


FREEZE = Check(
    lambda v: v in ("none", "all_but_head") or (type(v) is int and 0 <= v <= 5),
    "none, all_but_head, or a number of blocks 0..5 (the stem, then layer1..layer4)",
)


@dataclass
class BackboneConfig:
    """A pretrained ResNet body and a new head (src/levers/models/backbone.py); needs data with image_shape."""

    _target_: str = MISSING
    _partial_: bool = True
    image_shape: Any = "${data.image_shape}"
    name: str = checked("resnet18", ChoiceOf("levers.models.resnet", "ARCHITECTURES"))  # torchvision's names
    weights: str | None = None  # a local state_dict file (torchvision's, or a levers checkpoint); null: from scratch
    # none: fine-tune everything | all_but_head: train the head only | n: freeze the first n blocks
    freeze: Any = checked("none", FREEZE)  # noqa: RUF009 (a Field, as dataclasses.field returns)
    stem: str = checked("imagenet", ChoiceOf("levers.models.resnet", "STEMS"))  # small: 3x3/1, no max pool
    dropout: float = checked(follows(DROPOUT), FRACTION)
    input_mean: list[float] | None = None  # per channel, applied inside the network (ImageNet weights: 0.485, ...)
    input_std: list[float] | None = None


OPTIONS: dict[str, dict[str, Any]] = {
    "model": {
        "mlp": MLPConfig,
        "cnn": CNNConfig,
        "rnn": RNNConfig,
        "backbone": BackboneConfig,
        "autoencoder": AutoencoderConfig,
    }
}
