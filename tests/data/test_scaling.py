"""Each scaler's train-split statistics, and reuse of the train-fitted parameters on other data."""

from __future__ import annotations

import pytest
import torch

from levers.data.scaling import AffineScaler


@pytest.fixture
def train_and_val() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    spread = torch.tensor([1.0, 1e3, 1e-3, 50.0])
    offset = torch.tensor([7.0, -300.0, 0.01, 2.0])  # features on very different scales
    train = torch.randn(500, 4, generator=generator) * spread + offset
    val = torch.randn(100, 4, generator=generator) * spread + offset
    return train, val


def test_standard_gives_zero_mean_unit_std_on_train(train_and_val):
    train, _ = train_and_val
    scaled = AffineScaler(4).fit(train, "standard")(train)
    assert torch.allclose(scaled.mean(0), torch.zeros(4), atol=1e-4)
    assert torch.allclose(scaled.std(0, correction=0), torch.ones(4), atol=1e-4)


def test_minmax_maps_train_to_unit_interval(train_and_val):
    train, _ = train_and_val
    scaled = AffineScaler(4).fit(train, "minmax")(train)
    assert torch.allclose(scaled.min(0).values, torch.zeros(4), atol=1e-5)
    assert torch.allclose(scaled.max(0).values, torch.ones(4), atol=1e-5)


def test_decimal_brings_max_abs_below_one_by_a_power_of_ten(train_and_val):
    train, _ = train_and_val
    scaler = AffineScaler(4).fit(train, "decimal")
    peak = scaler(train).abs().max(0).values
    assert bool((peak < 1).all()) and bool((peak >= 0.1).all())
    exponents = torch.log10(scaler.scale)
    assert torch.allclose(exponents, exponents.round())


def test_robust_centres_on_the_median_with_unit_iqr(train_and_val):
    train, _ = train_and_val
    scaled = AffineScaler(4).fit(train, "robust")(train)
    q1, median, q3 = torch.quantile(scaled, torch.tensor([0.25, 0.5, 0.75]), dim=0)
    assert torch.allclose(median, torch.zeros(4), atol=1e-3)
    assert torch.allclose(q3 - q1, torch.ones(4), atol=1e-3)


def test_none_is_the_identity(train_and_val):
    train, _ = train_and_val
    assert torch.equal(AffineScaler(4).fit(train, "none")(train), train)


def test_validation_data_uses_train_fitted_parameters(train_and_val):
    train, val = train_and_val
    scaler = AffineScaler(4).fit(train, "standard")
    expected = (val - train.double().mean(0).float()) / train.double().std(0, correction=0).float()
    assert torch.allclose(scaler(val), expected, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(scaler(val).mean(0), torch.zeros(4), atol=1e-4)


def test_constant_column_is_left_unscaled_instead_of_dividing_by_zero():
    data = torch.tensor([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    scaled = AffineScaler(2).fit(data, "standard")(data)
    assert torch.isfinite(scaled).all() and torch.equal(scaled[:, 1], torch.zeros(3))


def test_inverse_undoes_the_scaling(train_and_val):
    train, _ = train_and_val
    scaler = AffineScaler(4).fit(train, "minmax")
    assert torch.allclose(scaler.inverse(scaler(train)), train, rtol=1e-4, atol=1e-3)


def test_fitting_by_column_blocks_gives_the_fit_on_all_columns(monkeypatch):
    import levers.data.scaling as scaling

    features = torch.randn(500, 9) * 3 + 1
    whole = {m: AffineScaler(9).fit(features, m) for m in ("standard", "minmax", "robust", "decimal")}
    monkeypatch.setattr(scaling, "FIT_BLOCK_BYTES", 500 * 8 * 2)  # two columns per block
    for method, expected in whole.items():
        blocked = AffineScaler(9).fit(features, method)
        torch.testing.assert_close(blocked.offset, expected.offset)
        torch.testing.assert_close(blocked.scale, expected.scale)


def test_scale_in_place_equals_forward():
    features = torch.randn(100, 4)
    scaler = AffineScaler(4).fit(features, "standard")
    expected = scaler(features)
    assert torch.equal(scaler.scale_(features.clone()), expected)


def test_untouched_columns_keep_offset_zero_and_scale_one(train_and_val):
    train, _ = train_and_val
    scaler = AffineScaler(4).fit(train, "standard", untouched=[1, 3])
    assert scaler.offset[[1, 3]].tolist() == [0.0, 0.0] and scaler.scale[[1, 3]].tolist() == [1.0, 1.0]
    assert scaler.offset[0] == pytest.approx(train[:, 0].mean().item(), rel=1e-4)  # the others still scaled
