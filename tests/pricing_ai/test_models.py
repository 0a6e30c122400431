"""The models: monotone in depth, refuse too little data, round-trip as artifacts and
refuse to load without a feature they need."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from pricing_ai import artifacts, training
from pricing_ai.errors import ArtifactMismatch, NotEnoughData
from pricing_ai.estimators import CherryPickerModel, DiscountResponseModel, WalletModel
from tests.pricing_ai import synthetic

FAST = dict(n_estimators=40, n_jobs=1)


@pytest.fixture(scope="module")
def fitted() -> training.FittedModels:
    X, y, units = synthetic.response_table()
    response = DiscountResponseModel(**FAST).fit(X, y, units)
    Xc, yc = synthetic.cherry_table()
    Xw, yw = synthetic.wallet_table()
    return training.FittedModels(
        response=response, cherry=CherryPickerModel(**FAST).fit(Xc, yc),
        wallet=WalletModel(**FAST).fit(Xw, yw), metrics={"response": {"auc": 0.7}},
        window={"feature_weeks": [0, 40]}, response_sigma=0.1)


def test_purchase_probability_never_falls_as_the_discount_deepens(fitted):
    X, _, _ = synthetic.response_table(rows=500, seed=9)
    depths = np.linspace(0, 0.6, 25)
    exact = np.column_stack([fitted.response.predict_proba(X.assign(depth=d))[:, 1]
                             for d in depths])
    assert (np.diff(exact, axis=1) >= -1e-12).all()
    grid = fitted.response.proba_at(X, depths)
    assert (np.diff(grid, axis=1) >= -1e-12).all()
    # Inside the depths seen in training, the numpy grid stays close to LightGBM's own
    # prediction at every depth.
    seen = depths <= 0.4
    assert np.abs(grid - exact)[:, seen].mean() < 0.04


def test_sensitive_shoppers_score_higher(fitted):
    X, _, _ = synthetic.response_table(rows=2_000, seed=3)
    score = fitted.response.sensitivity(X)
    high = X["slope_own"] > 1
    low = X["slope_own"] < -1
    assert score[high].mean() > score[low].mean()
    assert ((score >= 0) & (score < 1)).all()


def test_the_compiled_boosters_predict_what_lightgbm_predicts(fitted):
    """Bulk scoring at launch runs on boosters compiled by lleaves; a campaign must get the
    same depths as LightGBM itself would give."""
    pytest.importorskip("lleaves")
    X, _, _ = synthetic.response_table(rows=3_000, seed=5)
    X.iloc[::7, 0] = np.nan  # missing values take LightGBM's default branches
    model = copy.deepcopy(fitted.response)
    base, lift = model.base_and_lift(X)
    proba = model.predict_proba(X.assign(depth=0.15))
    assert model.compile_boosters()
    compiled_base, compiled_lift = model.base_and_lift(X)
    assert np.abs(compiled_base - base).max() <= 1e-9
    assert np.abs(compiled_lift - lift).max() <= 1e-9
    assert np.abs(model.predict_proba(X.assign(depth=0.15)) - proba).max() <= 1e-9
    # The machine code is never saved with the model: it is compiled where it is used.
    assert copy.deepcopy(model).predict_proba(X).shape == (len(X), 2)


def test_too_little_data_is_a_clear_error():
    X, y, units = synthetic.response_table(rows=800)
    with pytest.raises(NotEnoughData, match="at least 5,000"):
        DiscountResponseModel(**FAST).fit(X, y, units)
    X, y, units = synthetic.response_table()
    with pytest.raises(NotEnoughData, match="with a discount"):
        DiscountResponseModel(**FAST).fit(X.assign(depth=0.0), y, units)
    Xc, yc = synthetic.cherry_table()
    with pytest.raises(NotEnoughData, match="both kinds"):
        CherryPickerModel(**FAST).fit(Xc, np.zeros_like(yc))


def test_training_needs_enough_weeks(tmp_path):
    from retail.simulator import simulate

    simulate(customers=300, weeks=10, seed=1, out=tmp_path)
    enc = training.Encoded(training.load_folder(tmp_path))
    with pytest.raises(NotEnoughData, match="needs at least 20"):
        training.fit_models(enc, label_weeks=12, rows=10_000)


def test_an_artifact_round_trips(fitted, tmp_path):
    path = artifacts.save(fitted, tmp_path / "v1", name="pricing", version=1)
    loaded = artifacts.load(path)
    X, _, _ = synthetic.response_table(rows=300, seed=5)
    assert np.allclose(loaded.models.response.predict_proba(X),
                       fitted.response.predict_proba(X))
    assert loaded.manifest["version"] == 1
    assert loaded.manifest["data_window"] == {"feature_weeks": [0, 40]}
    assert loaded.manifest["features"]["response"] == list(training.RESPONSE_FEATURES)


def test_an_artifact_missing_a_feature_refuses_to_load(fitted, tmp_path):
    path = artifacts.save(fitted, tmp_path / "v1", name="pricing", version=1)
    available = artifacts.feature_lists()
    available["response"] = [f for f in available["response"] if f != "loyalty"]
    with pytest.raises(ArtifactMismatch, match="loyalty"):
        artifacts.load(path, available=available)


def test_scoring_without_a_feature_is_refused(fitted):
    X, _, _ = synthetic.response_table(rows=50)
    with pytest.raises(ArtifactMismatch, match="price_index"):
        fitted.response.predict_proba(X.drop(columns=["price_index"]))
