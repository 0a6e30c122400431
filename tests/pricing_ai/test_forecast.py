"""The spend forecast's calibration on past campaigns."""

from __future__ import annotations

import numpy as np

from pricing_ai.forecast import SpendCalibration


def test_calibration_centres_and_widens_the_spend_on_past_campaigns():
    rng = np.random.default_rng(3)
    forecast = rng.uniform(1e5, 1e7, 200)
    # Past campaigns spent a fifth less than forecast, give or take 40 %.
    realised = forecast * np.exp(np.log(0.8) + rng.normal(0, 0.4, 200))
    calibration = SpendCalibration.fit(forecast, realised)
    assert calibration is not None and calibration.campaigns == 200
    figure = calibration.apply(1_000_000)
    assert 750_000 < figure.expected < 850_000
    assert figure.low < figure.expected < figure.high
    # The interval covers about 8 in 10 of those campaigns.
    covered = ((forecast * np.exp(calibration.low) <= realised)
               & (realised <= forecast * np.exp(calibration.high)))
    assert 0.75 <= covered.mean() <= 0.85


def test_too_few_past_campaigns_leave_the_forecast_uncalibrated():
    assert SpendCalibration.fit(np.full(9, 1e6), np.full(9, 9e5)) is None
    # Campaigns that spent nothing say nothing about the ratio.
    assert SpendCalibration.fit(np.full(12, 1e6), np.zeros(12)) is None
