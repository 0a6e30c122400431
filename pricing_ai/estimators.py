"""The three models as scikit-learn estimators with LightGBM inside: parameters only in
`__init__`, `fit` returns self, learned state ends in `_`.

- `DiscountResponseModel`: P(the shopper buys the SKU in a week | shopper, SKU, depth),
  monotone increasing in the depth (LightGBM `monotone_constraints`), decreasing in a
  rival brand's promo. Serving needs the whole depth grid for millions of (shopper, SKU)
  pairs, so the model also learns one shared shape of the depth effect on the log-odds
  (`depth_curve_`, normalised to 1 at the reference depth): a pair's log-odds at any depth
  is its own log-odds at 0 plus its own lift at the reference depth times that shape.
  Two LightGBM predictions per pair then give the whole grid in numpy; `fit` measures how
  far that is from predicting every grid point (`grid_error_`).
- `CherryPickerModel`: P(the shopper buys this category almost only on deep discount).
- `WalletModel`: the category spend per week expected of a shopper like this one.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_is_fitted

from pricing_ai.errors import ArtifactMismatch, NotEnoughData

DEPTH = "depth"
RIVAL_DEPTH = "rival_depth"
DEPTH_X_INDEX = "depth_x_sensitivity_index"
# Shopper features whose interaction with the depth the first stage measures.
SENSITIVITY_FEATURES = ("slope_own", "slope_best", "deep_share", "shopper_promo_share",
                        "margin_rate", "loyalty", "price_index", "stock_up", "promo_share",
                        "discount_depth", "age", "loyalty_tier", "visits_per_week")
CURVE_STEP = 0.01
PREDICT_CHUNK = 250_000
# From this many rows a call is worth compiling the boosters (a few seconds, once per
# process and model): the compiled trees predict ~4× faster than LightGBM's own code.
COMPILE_MIN_ROWS = 500_000

log = logging.getLogger(__name__)


class CompiledBooster:
    """A LightGBM booster compiled to machine code with lleaves (LLVM), raw scores; its
    outputs equal LightGBM's to rounding (a test holds them to 1e-9)."""

    def __init__(self, booster: LGBMClassifier) -> None:
        import lleaves

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.txt"
            booster.booster_.save_model(path)
            self._model = lleaves.Model(model_file=str(path))
            self._model.compile(raw_score=True)

    def predict(self, matrix: np.ndarray, n_jobs: int) -> np.ndarray:
        return self._model.predict(matrix, n_jobs=n_jobs)


def compile_booster(booster: LGBMClassifier) -> CompiledBooster | None:
    """The compiled booster, or None (and LightGBM predicts) when lleaves is missing or
    cannot compile here."""
    try:
        return CompiledBooster(booster)
    except Exception:  # an optional speed-up: any failure falls back to LightGBM
        log.warning("lleaves could not compile the booster; LightGBM predicts",
                    exc_info=True)
        return None
EPSILON = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _require_columns(estimator: BaseEstimator, X: pd.DataFrame) -> None:
    missing = [name for name in estimator.feature_names_in_ if name not in X.columns]
    if missing:
        raise ArtifactMismatch(f"{type(estimator).__name__} needs the features {missing}",
                               errors={"features": ", ".join(missing)})


def _check_columns(estimator: BaseEstimator, X: pd.DataFrame) -> pd.DataFrame:
    _require_columns(estimator, X)
    return X[list(estimator.feature_names_in_)]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise NotEnoughData(message)


class _Boosted(BaseEstimator):
    """Shared LightGBM parameters."""

    def __init__(self, *, n_estimators: int = 200, learning_rate: float = 0.08,
                 num_leaves: int = 31, min_child_samples: int = 100,
                 subsample: float = 0.8, colsample_bytree: float = 0.8,
                 random_state: int = 0, n_jobs: int = 1) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lightgbm_params(self) -> dict:
        return dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                    num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                    subsample=self.subsample, subsample_freq=1 if self.subsample < 1 else 0,
                    colsample_bytree=self.colsample_bytree, random_state=self.random_state,
                    n_jobs=self.n_jobs, max_bin=63, verbose=-1)


class DiscountResponseModel(ClassifierMixin, _Boosted):
    """P(buy the SKU this week) from shopper and SKU features and the depth faced."""

    def __init__(self, *, n_estimators: int = 200, learning_rate: float = 0.08,
                 num_leaves: int = 31, min_child_samples: int = 100,
                 subsample: float = 0.8, colsample_bytree: float = 0.8,
                 random_state: int = 0, n_jobs: int = 1, reference_depth: float = 0.25,
                 max_depth_grid: float = 0.6, min_rows: int = 5_000,
                 min_positives: int = 200, min_promo_rows: int = 200,
                 sensitivity_features: tuple[str, ...] = SENSITIVITY_FEATURES,
                 depth_tree_share: float = 0.3) -> None:
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, min_child_samples=min_child_samples,
                         subsample=subsample, colsample_bytree=colsample_bytree,
                         random_state=random_state, n_jobs=n_jobs)
        self.reference_depth = reference_depth
        self.max_depth_grid = max_depth_grid
        self.min_rows = min_rows
        self.min_positives = min_positives
        self.min_promo_rows = min_promo_rows
        self.sensitivity_features = sensitivity_features
        self.depth_tree_share = depth_tree_share

    def _fit_index(self, X: pd.DataFrame, y: np.ndarray) -> None:
        """First stage: a logistic regression of buying on the depth and on the depth
        times each shopper feature (standardised). Its depth coefficients make a
        per-shopper sensitivity index that LightGBM then uses as `depth × index`, so that
        how strongly depth moves a shopper is learnt from all shoppers' rows together
        (trees alone pick such interactions up only weakly)."""
        from sklearn.linear_model import LogisticRegression

        names = [name for name in self.sensitivity_features if name in X.columns]
        sample = X.sample(min(len(X), 200_000), random_state=self.random_state)
        label = y[X.index.get_indexer(sample.index)]
        shopper = sample[names].astype(np.float64)
        self.index_mean_ = shopper.mean().to_numpy()
        self.index_scale_ = shopper.std().to_numpy() + 1e-9
        self.index_features_ = names
        z = self._standardised(sample)
        others = sample.drop(columns=[DEPTH]).astype(np.float64).fillna(0)
        others = ((others - others.mean()) / (others.std() + 1e-9)).clip(-5, 5)
        depth = sample[DEPTH].to_numpy(np.float64)[:, None]
        design = np.hstack([others.to_numpy(), depth, depth * z])
        regression = LogisticRegression(C=1.0, max_iter=300).fit(design, label)
        coefficients = regression.coef_[0][others.shape[1]:]
        self.index_intercept_ = float(coefficients[0])
        self.index_coef_ = coefficients[1:]

    def _standardised(self, X: pd.DataFrame) -> np.ndarray:
        values = X[self.index_features_].to_numpy(np.float64)
        return np.clip(np.nan_to_num((values - self.index_mean_) / self.index_scale_), -5, 5)

    def sensitivity_index(self, X: pd.DataFrame) -> np.ndarray:
        """The first stage's per-shopper depth coefficient (≥ 0)."""
        raw = self.index_intercept_ + self._standardised(X) @ self.index_coef_
        return np.logaddexp(0.0, raw)  # softplus: never negative, so monotone in depth

    def _augment(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        X[DEPTH_X_INDEX] = (X[DEPTH].to_numpy(np.float64) * self.sensitivity_index(X)
                            ).astype(np.float32)
        return X

    def fit(self, X: pd.DataFrame, y, units=None) -> DiscountResponseModel:
        y = np.asarray(y).astype(np.int8)
        _require(DEPTH in X.columns, "The response model needs a 'depth' feature")
        _require(len(X) >= self.min_rows,
                 f"{len(X):,} training rows: the response model needs at least "
                 f"{self.min_rows:,}")
        _require(int(y.sum()) >= self.min_positives,
                 f"{int(y.sum()):,} purchases among the rows: at least "
                 f"{self.min_positives:,} are needed")
        promo_rows = int((X[DEPTH].to_numpy() > 0).sum())
        _require(promo_rows >= self.min_promo_rows,
                 f"{promo_rows:,} rows with a discount: the response to depth cannot be "
                 f"learnt from fewer than {self.min_promo_rows:,}")
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        X = X.reset_index(drop=True)
        self._fit_index(X, y)
        augmented = self._augment(X)
        # Two boosters: the first never sees the depth (the shopper's and SKU's baseline),
        # the second continues from it with the depth, monotone. At serving the first is
        # predicted once per pair and only the second at each depth it needs.
        self.base_features_ = [name for name in augmented.columns
                               if name not in (DEPTH, DEPTH_X_INDEX)]
        depth_trees = max(1, round(self.n_estimators * self.depth_tree_share))
        params = self._lightgbm_params()
        params["n_estimators"] = max(1, self.n_estimators - depth_trees)
        self.base_booster_ = LGBMClassifier(**params)
        self.base_booster_.fit(augmented[self.base_features_], y)
        init = self.base_booster_.predict(augmented[self.base_features_], raw_score=True)
        params["n_estimators"] = depth_trees
        monotone = [1 if name in (DEPTH, DEPTH_X_INDEX) else -1 if name == RIVAL_DEPTH else 0
                    for name in augmented.columns]
        self.booster_ = LGBMClassifier(**params, monotone_constraints=monotone,
                                       monotone_constraints_method="basic")
        self.booster_.fit(augmented, y, init_score=init)
        self.classes_ = np.array([0, 1])
        self.curve_depths_ = np.round(np.arange(0, self.max_depth_grid + CURVE_STEP / 2,
                                                CURVE_STEP), 4)
        coarse = self.curve_depths_[::2]
        sample = X.sample(min(len(X), 4_000), random_state=self.random_state)
        exact = self._logit_grid(sample, coarse)
        lift = exact - exact[:, :1]
        mean_lift = np.interp(self.curve_depths_, coarse,
                              np.maximum.accumulate(np.maximum(lift.mean(axis=0), 0)))
        at_reference = float(np.interp(self.reference_depth, self.curve_depths_, mean_lift))
        self.depth_curve_ = (mean_lift / at_reference if at_reference > EPSILON
                             else self.curve_depths_ / self.reference_depth)
        approx = self.logit_at(sample, coarse)
        self.grid_error_ = float(np.abs(_sigmoid(approx) - _sigmoid(exact)).mean())
        # Units per purchase rise with depth (shoppers stock up): one shared multiplier.
        self.units_curve_ = np.ones(len(self.curve_depths_))
        self.units_per_purchase_ = 1.0
        if units is not None:
            units = np.asarray(units, dtype=np.float64)
            bought = y > 0
            self.units_per_purchase_ = float(units[bought].mean()) if bought.any() else 1.0
            if bought.sum() >= 50:
                iso = IsotonicRegression(increasing=True, out_of_bounds="clip")
                iso.fit(X[DEPTH].to_numpy()[bought], units[bought])
                fitted = iso.predict(self.curve_depths_)
                self.units_curve_ = fitted / max(fitted[0], EPSILON)
        return self

    def _with_depth(self, X: pd.DataFrame, depth: float) -> pd.DataFrame:
        X = X.copy()
        X[DEPTH] = np.float32(depth)
        return X

    def _matrix(self, X: pd.DataFrame, index: np.ndarray,
                depth: float | None = None) -> np.ndarray:
        """The features in the boosters' order with `depth × index` last (as `_augment`
        makes it), as one float32 C-ordered array: LightGBM reads it as is, where a
        DataFrame is converted on every call."""
        matrix = np.empty((len(X), self.n_features_in_ + 1), dtype=np.float32)
        for position, name in enumerate(self.feature_names_in_):
            matrix[:, position] = X[name].to_numpy()
        self._set_depth(matrix, index, depth)
        return matrix

    def _set_depth(self, matrix: np.ndarray, index: np.ndarray, depth: float | None) -> None:
        column = self._depth_column()
        if depth is not None:
            matrix[:, column] = np.float32(depth)
        matrix[:, -1] = (matrix[:, column].astype(np.float64) * index).astype(np.float32)

    def _depth_column(self) -> int:
        return int(np.flatnonzero(self.feature_names_in_ == DEPTH)[0])

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: the live model keeps its own
        state.pop("_compiled", None)  # machine code: compiled again where it is loaded
        return state

    def compile_boosters(self) -> bool:
        """Compile both boosters for fast bulk prediction (once per process); False when
        lleaves is unavailable and LightGBM keeps predicting."""
        if getattr(self, "_compiled", None) is None:
            compiled = {"base": compile_booster(self.base_booster_),
                        "depth": compile_booster(self.booster_)}
            self._compiled = compiled if None not in compiled.values() else {}
        return bool(self._compiled)

    def _predict_raw(self, booster: LGBMClassifier, matrix: np.ndarray) -> np.ndarray:
        compiled = getattr(self, "_compiled", None) or {}
        key = "base" if booster is self.base_booster_ else "depth"
        if key in compiled:
            return compiled[key].predict(matrix.astype(np.float64), n_jobs=self.n_jobs)
        return booster.booster_.predict(matrix, raw_score=True, num_threads=self.n_jobs,
                                        validate_features=False)

    def _compile_for(self, rows: int) -> None:
        if rows >= COMPILE_MIN_ROWS:
            self.compile_boosters()

    def _base_columns(self) -> np.ndarray:
        columns = [*self.feature_names_in_, DEPTH_X_INDEX]
        return np.array([columns.index(name) for name in self.base_features_])

    def _raw_logit(self, X: pd.DataFrame) -> np.ndarray:
        self._compile_for(len(X))
        out = np.empty(len(X))
        base_columns = self._base_columns()
        for start in range(0, len(X), PREDICT_CHUNK):
            chunk = X.iloc[start:start + PREDICT_CHUNK]
            matrix = self._matrix(chunk, self.sensitivity_index(chunk))
            out[start:start + len(matrix)] = (
                self._predict_raw(self.base_booster_, matrix[:, base_columns])
                + self._predict_raw(self.booster_, matrix))
        return out

    def _logit_grid(self, X: pd.DataFrame, depths: np.ndarray) -> np.ndarray:
        """Every grid point predicted by LightGBM (slow; for fitting and checking)."""
        return np.column_stack([self._raw_logit(self._with_depth(X, d)) for d in depths])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        _require_columns(self, X)
        p = _sigmoid(self._raw_logit(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int8)

    def base_and_lift(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the log-odds without discount and its rise at the reference depth
        (never negative: the model is monotone in depth)."""
        check_is_fitted(self)
        _require_columns(self, X)
        self._compile_for(len(X))
        base, lift = np.empty(len(X)), np.empty(len(X))
        base_columns = self._base_columns()
        # In chunks, so that the arrays stay small. The baseline booster never sees the
        # depth, so it runs once per row, and the sensitivity index does not depend on it.
        for start in range(0, len(X), PREDICT_CHUNK):
            chunk = X.iloc[start:start + PREDICT_CHUNK]
            index = self.sensitivity_index(chunk)
            matrix = self._matrix(chunk, index, 0.0)
            rows = slice(start, start + len(matrix))
            low = self._predict_raw(self.booster_, matrix)
            base[rows] = self._predict_raw(self.base_booster_, matrix[:, base_columns]) + low
            self._set_depth(matrix, index, self.reference_depth)
            lift[rows] = np.maximum(self._predict_raw(self.booster_, matrix) - low, 0.0)
        return base, lift

    def curve(self, depths: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(depths, dtype=np.float64), self.curve_depths_,
                         self.depth_curve_)

    def units_multiplier(self, depths: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(depths, dtype=np.float64), self.curve_depths_,
                         self.units_curve_)

    def logit_at(self, X: pd.DataFrame, depths: np.ndarray) -> np.ndarray:
        base, lift = self.base_and_lift(X)
        return base[:, None] + lift[:, None] * self.curve(depths)[None, :]

    def proba_at(self, X: pd.DataFrame, depths: np.ndarray) -> np.ndarray:
        """(rows, depths) purchase probabilities over a grid of depths, in numpy."""
        return _sigmoid(self.logit_at(X, depths))

    def sensitivity(self, X: pd.DataFrame) -> np.ndarray:
        """How much P rises from no discount to the reference depth, for a shopper who
        would otherwise buy half the time: 2·σ(lift) − 1, in [0, 1). Measured on the
        log-odds, so that it ranks how strongly a discount moves the shopper rather than
        how often they buy anyway."""
        _, lift = self.base_and_lift(X)
        return 2 * _sigmoid(lift) - 1


class CherryPickerModel(ClassifierMixin, _Boosted):
    """P(the shopper buys the category almost only on deep discount)."""

    def __init__(self, *, n_estimators: int = 150, learning_rate: float = 0.08,
                 num_leaves: int = 31, min_child_samples: int = 50,
                 subsample: float = 0.8, colsample_bytree: float = 0.8,
                 random_state: int = 0, n_jobs: int = 1, min_rows: int = 500,
                 min_positives: int = 20) -> None:
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, min_child_samples=min_child_samples,
                         subsample=subsample, colsample_bytree=colsample_bytree,
                         random_state=random_state, n_jobs=n_jobs)
        self.min_rows = min_rows
        self.min_positives = min_positives

    def fit(self, X: pd.DataFrame, y) -> CherryPickerModel:
        y = np.asarray(y).astype(np.int8)
        _require(len(X) >= self.min_rows,
                 f"{len(X):,} (shopper, category) rows with enough purchases: the "
                 f"cherry-picker model needs at least {self.min_rows:,}")
        positives = int(y.sum())
        _require(self.min_positives <= positives <= len(y) - self.min_positives,
                 f"{positives:,} of {len(y):,} rows bought only on deep discount: both "
                 f"kinds need at least {self.min_positives:,} rows")
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.booster_ = LGBMClassifier(**self._lightgbm_params()).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return self.booster_.predict_proba(_check_columns(self, X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int8)


class WalletModel(RegressorMixin, _Boosted):
    """Expected category spend per week (kopecks) of shoppers like this one."""

    def __init__(self, *, n_estimators: int = 150, learning_rate: float = 0.08,
                 num_leaves: int = 31, min_child_samples: int = 100,
                 subsample: float = 0.8, colsample_bytree: float = 0.8,
                 random_state: int = 0, n_jobs: int = 1, min_rows: int = 1_000) -> None:
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, min_child_samples=min_child_samples,
                         subsample=subsample, colsample_bytree=colsample_bytree,
                         random_state=random_state, n_jobs=n_jobs)
        self.min_rows = min_rows

    def fit(self, X: pd.DataFrame, y) -> WalletModel:
        y = np.asarray(y, dtype=np.float64)
        _require(len(X) >= self.min_rows,
                 f"{len(X):,} (shopper, category) rows: the wallet model needs at least "
                 f"{self.min_rows:,}")
        _require(bool((y > 0).sum() >= 50), "Fewer than 50 rows with any spend")
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.booster_ = LGBMRegressor(**self._lightgbm_params(), objective="poisson")
        self.booster_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return np.maximum(self.booster_.predict(_check_columns(self, X)), 0.0)
