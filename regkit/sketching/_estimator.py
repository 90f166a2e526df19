"""SketchedLinearRegression: least squares on a sketch, in memory, streamed or on dask."""

from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from regkit.sketching._bounds import equilibrated_linf_radius, sketch_size
from regkit.sketching._operators import (
    SKETCHES,
    SparseSignSketch,
    SRHTSketch,
    _is_dask,
    get_sketch,
)
from regkit.sketching._reduce import reduce_rows
from regkit.sketching._scaling import (
    DataScale,
    column_exponents,
    sketch_exponents,
    sketch_in_range,
    to_data_units,
)
from regkit.sketching._solve import (
    precondition_solve,
    sketch_partial,
    solve_small,
    split_sketch,
)
from regkit.sketching._stream import SketchStream
from regkit.utils import check_numeric_target, check_random_seed, validate_params


@contextmanager
def _restore_on_error(estimator):
    """A call that raises leaves the estimator's attributes as they were.

    The attributes are restored from a shallow copy: the fitting code replaces
    arrays and streams, it never modifies them in place.
    """
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


def _scaled_term(X, Y, w, row_start, func, scale, *args):
    """``func`` on a row block divided by the powers of two of ``scale``."""
    return func(*scale.apply(X, Y, w), row_start, *args)


# Rows of a preconditioning sketch per column: kappa(A R^-1) ~ (1 + 1/2) / (1 - 1/2) = 3.
PRECONDITION_OVERSAMPLING = 4
MIN_PRECONDITION_ROWS = 32
PRECONDITION_NNZ = 4


class SketchedLinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares solved on a random sketch of the rows.

    ``method="sketch_and_solve"`` solves ``min ||S(Ax - b)||`` with ``m << n`` rows
    (Song, Ye, Yin and Zhang, ICML 2023): each coordinate of ``coef_`` is within
    ``linf_radius_ = (eps / sqrt(d)) ||A x* - b|| ||A^+||`` of the exact solution
    with probability ``1 - delta`` (proven for the Gaussian sketch, measured for
    the others, none for CountSketch; see :func:`~regkit.sketching.sketch_size`).
    ``method="precondition"`` uses a small sketch (``4 d`` rows) only to build a
    preconditioner ``R`` and then solves exactly (randomised Cholesky-QR with
    refinement): ``np.linalg.lstsq`` accuracy, ill-conditioned designs included, in
    three passes over the data. For an ill-conditioned NumPy design it keeps
    ``A R^-1`` between the passes (memory of the size of ``X``, as
    ``np.linalg.lstsq`` needs too).

    ``fit`` accepts NumPy arrays, pandas frames and row-chunked dask arrays (the
    sketch is a tree reduction of per-chunk sketches); ``partial_fit`` streams
    chunks. Randomness is drawn per fixed tile of rows, so the same
    ``random_state`` gives the same sketch, hence the same answer up to rounding,
    for in-memory data, any dask chunking and any sequence of ``partial_fit`` calls.

    Parameters
    ----------
    sketch : {"auto", "srht", "gaussian", "rademacher", "sparse_sign", "count"} or \
BaseSketch subclass, default="auto"
        The sketch operator (see :mod:`regkit.sketching`). ``"auto"``: the SRHT for
        sketch-and-solve (the fast sketch with a measured l-inf guarantee), the
        sparse sign embedding with 4 nonzeros per column for precondition (any
        subspace embedding serves a preconditioner, and it is the cheapest to apply).
    n_sketch_rows : int or None, default=None
        Sketch size ``m``. ``None``: :func:`~regkit.sketching.sketch_size` from
        ``eps`` and ``delta`` for sketch-and-solve, ``max(4 d, 32)`` for precondition.
        CountSketch has no l-inf size: give ``n_sketch_rows``.
    eps : float, default=0.5
        Target l-inf accuracy, in units of ``||r|| ||A^+|| / sqrt(d)``.
    delta : float, default=0.01
        Failure probability of the l-inf guarantee.
    method : {"auto", "sketch_and_solve", "precondition"}, default="auto"
        ``"auto"`` preconditions in-memory arrays (extra passes are cheap and give
        the exact solution) and sketches-and-solves dask arrays (one pass).
        :meth:`partial_fit` always sketches and solves.
    fit_intercept : bool, default=True
        Fit an intercept (the sketch of the centred design is formed exactly after
        the pass, from the sketch of a column of ones).
    refine_steps : int, default=1
        Refinement passes of the precondition method.
    random_state : int, RandomState instance or None, default=None
        Seeds the sketch.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (0.0 when ``fit_intercept=False``).
    method_ : str
        Method used: ``"sketch_and_solve"``, ``"precondition"`` or ``"exact"``. When
        the sketch would have at least as many rows as the data (small n, or
        ``n < d``), a sketch cannot help: the problem is solved exactly (a QR of
        the equilibrated design; :func:`scipy.linalg.lstsq`'s minimum-norm solution
        when rank deficient).
    sketch_ : BaseSketch or None
        The sketch operator (``None`` for the exact method).
    sketch_size_ : int
        Rows ``m`` of the sketch (``n_samples`` for the exact method).
    linf_radius_ : float or ndarray of shape (n_targets,)
        Sketch-and-solve: the l-inf radius, in the units of ``coef_``, with
        ``||r||`` and ``||A^+||`` estimated from the sketch (``inf`` for
        CountSketch or a rank-deficient sketch); see Notes for how it is mapped
        back from the equilibrated problem. Precondition and exact methods: 0.0
        (no sketching error).
    rank_ : int
        Numerical rank of the (sketched) design.
    n_iter_ : int
        Solves performed: 1, plus the refinement steps of the precondition method.
    history_ : list of dict
        One record per solve, with the relative size of its correction.
    n_rows_seen_ : int
        Rows sketched so far (``partial_fit``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features, when X has string column names.

    See Also
    --------
    sklearn.linear_model.LinearRegression : The exact solver.
    regkit.sketching.sketch_size : Rows for a target l-inf accuracy.

    Notes
    -----
    Deviations from the paper: the number of rows comes from a proven Gaussian
    bound, ``m ~ 2 eps^-2 d ln(4d/delta)``, not from the theorem's
    ``O(eps^-2 d log^3(n/delta))`` whose unspecified constant makes it exceed n at
    practical sizes; the SRHT uses a DCT (scipy has no fast Walsh-Hadamard
    transform), random signs and a row permutation, on fixed tiles of rows so that
    chunked data can be sketched; its l-inf radius, like the Rademacher and sparse
    sign ones, is calibrated from measurements because the paper's proof is
    disputed.

    Scale: any representable X and y work, e.g. X times 1e-300 or 1e300, and give
    the coefficients of the unscaled data times the scale ratio. Small problems
    (the sketch, the triangular factor, the exact solve) are *equilibrated*: each
    column of X and of y is divided by the power of two of its largest uncentred
    entry (exact in floating point), so that rank decisions do not depend on
    units and no square leaves the float64 range; the solution ``x'`` of the
    equilibrated problem maps back as ``x_j = x'_j 2**e_y / 2**e_j``. Passes over
    the data run unscaled (bit for bit the same as before) unless the data lie
    near the ends of the float64 range (entries beyond about 1e270 or below
    1e-270), where the blocks are divided by powers of two as they are read; the
    Gram shortcut of the precondition path is used only while ``A^T A`` stays in
    range. When the coefficients themselves cannot be represented (X around 1e160
    and y around 1e-200 need coefficients around 1e-360), ``fit`` raises a
    ``ValueError`` instead of returning zeros or NaN. The l-inf radius stays a
    guarantee for the original coefficients: the bound holds coordinate by
    coordinate, ``|x_j - x*_j| <= (eps / sqrt(d)) ||r|| ||e_j^T A^+||``, and for
    every diagonal scaling ``D``, ``||e_j^T A^+|| <= ||(A D^-1)^+|| / D_j``;
    ``linf_radius_`` is the largest over ``j`` of the smaller of the bounds from
    the equilibrated ``D`` and from a common power of two (the textbook radius).

    A call of ``fit`` or ``partial_fit`` that raises leaves the estimator as it
    was; ``fit`` ends a ``partial_fit`` stream.

    Threads: in-memory data are walked in row blocks on as many threads as BLAS
    uses, each block's BLAS calls on one thread; limit both with
    ``threadpoolctl.threadpool_limits(k, user_api="blas")``. The partial sums
    are added in block order, so the result does not depend on the thread count.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.sketching import SketchedLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20000, 5))
    >>> y = X @ np.arange(1.0, 6.0) + 3 + rng.standard_normal(20000)
    >>> model = SketchedLinearRegression(method="sketch_and_solve", random_state=0)
    >>> model.fit(X, y).sketch_size_
    526
    >>> exact = np.linalg.lstsq(np.c_[X, np.ones(20000)], y, rcond=None)[0][:5]
    >>> bool(np.all(np.abs(model.coef_ - exact) <= model.linf_radius_))
    True
    >>> model.set_params(method="precondition").fit(X, y)
    SketchedLinearRegression(method='precondition', random_state=0)
    >>> bool(np.allclose(model.coef_, exact, rtol=1e-12, atol=0))
    True
    """

    _parameter_constraints = {
        "sketch": [StrOptions({*SKETCHES, "auto"}), type],
        "n_sketch_rows": [Interval(Integral, 1, None, closed="left"), None],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "method": [StrOptions({"auto", "sketch_and_solve", "precondition"})],
        "fit_intercept": ["boolean"],
        "refine_steps": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        sketch="auto",
        *,
        n_sketch_rows=None,
        eps=0.5,
        delta=0.01,
        method="auto",
        fit_intercept=True,
        refine_steps=1,
        random_state=None,
    ):
        self.sketch = sketch
        self.n_sketch_rows = n_sketch_rows
        self.eps = eps
        self.delta = delta
        self.method = method
        self.fit_intercept = fit_intercept
        self.refine_steps = refine_steps
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- helpers ---------------------------------------------------------------------

    def _sketch_class(self, method):
        if self.sketch == "auto":
            return SparseSignSketch if method == "precondition" else SRHTSketch
        return get_sketch(self.sketch)

    def _n_rows(self, method, n_samples, n_features):
        if self.n_sketch_rows is not None:
            return int(self.n_sketch_rows)
        if method == "precondition":
            return max(PRECONDITION_OVERSAMPLING * n_features, MIN_PRECONDITION_ROWS)
        return sketch_size(n_samples, n_features, self.eps, self.delta, self._sketch_class(method))

    def _make_sketch(self, method, n_rows, n_features):
        if n_rows <= n_features:
            raise ValueError(
                f"n_sketch_rows={n_rows} must exceed n_features={n_features}: the sketched "
                "problem would be underdetermined."
            )
        cls = self._sketch_class(method)
        seed = check_random_seed(self.random_state)
        if self.sketch == "auto" and method == "precondition":
            # A preconditioner only needs kappa(A R^-1) to be small, not an l-inf
            # guarantee: 4 nonzeros per column keep it below 4 on coherent designs
            # (measured, d = 50 and 200) at half the cost of the default 8.
            return cls(n_rows, nnz_per_column=PRECONDITION_NNZ, random_state=seed)
        return cls(n_rows, random_state=seed)

    def _set_solution(self, coef, x_mean, y_mean, single_output):
        """Store ``coef`` (d, k) and the intercept; all in the units of the data."""
        coef = coef.T  # (k, d)
        intercept = y_mean - coef @ x_mean if self.fit_intercept else np.zeros(len(y_mean))
        if not np.isfinite(intercept).all():
            raise ValueError(
                "The intercept of this X and y overflows float64: rescale X or y "
                "(e.g. standardise them)."
            )
        self.coef_ = coef[0] if single_output else coef
        self.intercept_ = float(intercept[0]) if single_output else intercept

    def _solve_sketch(self, partial, scale, sketch, single_output, warn=True):
        """Sketch-and-solve from an accumulated partial sketch of data in ``scale``."""
        d = self.n_features_in_
        SA, SY, x_mean, y_mean = split_sketch(partial, d, self.fit_intercept)
        x_exponents, y_exponents = sketch_exponents(partial, d)
        coef_eq, rank, R_eq, residual = solve_small(SA, SY, x_exponents, y_exponents, warn=warn)
        x_exponents, y_exponents = x_exponents + scale.x, y_exponents + scale.y
        coef = to_data_units(coef_eq, x_exponents, y_exponents)
        if R_eq is None:  # rank deficient: no guarantee
            radius = np.full(len(residual), np.inf)
        else:
            radius = equilibrated_linf_radius(
                sketch.n_rows, self.delta, sketch, R_eq, residual, x_exponents, y_exponents
            )
        self._set_solution(coef, *scale.unscale_means(x_mean, y_mean), single_output)
        self.linf_radius_ = float(radius[0]) if single_output else radius
        self.rank_ = rank
        self.n_iter_ = 1
        self.history_ = [{"iteration": 1, "relative_correction": 1.0}]

    def _validate(self, X, y, sample_weight, reset):
        """NumPy inputs are validated here; dask inputs block by block during the pass."""
        if _is_dask(X):
            import dask.array as da

            if X.ndim != 2:
                raise ValueError(f"X must be a 2-D dask array, got shape {X.shape}.")
            if reset:
                self.n_features_in_ = X.shape[1]
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            if not _is_dask(y):
                y = np.asarray(y)
                y = da.from_array(y, chunks=(X.chunks[0], *y.shape[1:]))
            if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"y must have shape (n_samples,) or (n_samples, n_targets) with "
                    f"n_samples={X.shape[0]}, got {y.shape}."
                )
            if sample_weight is not None:
                if not _is_dask(sample_weight):
                    # In memory: checked now (dask weights are checked chunk by chunk).
                    sample_weight = _check_sample_weight(
                        sample_weight,
                        np.empty((X.shape[0], 0)),
                        dtype=np.float64,
                        ensure_non_negative=True,
                    )
                    sample_weight = da.from_array(sample_weight, X.chunks[0])
                if sample_weight.shape != (X.shape[0],):
                    raise ValueError(
                        f"sample_weight must have shape ({X.shape[0]},), got {sample_weight.shape}."
                    )
            return X.astype(np.float64), y.astype(np.float64), sample_weight
        check_numeric_target(y)
        X, y = validate_data(
            self, X, y, reset=reset, dtype=np.float64, multi_output=True, y_numeric=True
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        return X, y, sample_weight

    # -- public API ------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model on a sketch of the rows.

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            Design; a dask array is processed chunk by chunk along the rows.
        y : {array-like, dask array} of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative weights (weighted least squares).

        Returns
        -------
        self : SketchedLinearRegression
        """
        validate_params(self)
        with _restore_on_error(self):
            # fit starts afresh: a stream of earlier partial_fit calls ends here.
            self.__dict__.pop("_stream", None)
            X, y, sample_weight = self._validate(X, y, sample_weight, reset=True)
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        single_output = y.ndim == 1
        n_samples, n_features = X.shape
        method = self.method
        if method == "auto":
            method = "sketch_and_solve" if _is_dask(X) else "precondition"
        n_rows = self._n_rows(method, n_samples, n_features)
        if n_rows >= n_samples:
            return self._fit_exact(X, y, sample_weight, single_output)
        sketch = self._make_sketch(method, n_rows, n_features)
        Y = y.reshape(n_samples, -1)
        arrays = [X, Y, sample_weight]
        scale = None
        # Whole tiles per block (a cut tile costs an extra transform for the SRHT).
        block_rows = max(sketch.tile_rows_, 1 << 16)

        def reduce(func, out_shape, args):
            if scale is not None:
                func, args = _scaled_term, (func, scale, *args)
            return reduce_rows(func, arrays, out_shape, block_rows=block_rows, args=args)

        shape = (n_rows + 1, n_features + Y.shape[1] + 1)
        partial = reduce(sketch_partial, shape, (sketch, _is_dask(X)))
        if not sketch_in_range(partial):
            # Entries near the ends of the float64 range: sketch again, every block
            # divided by powers of two (one more pass, only for such data).
            scale = DataScale.of(X, Y, sample_weight)
            partial = reduce(sketch_partial, shape, (sketch, _is_dask(X)))
        self.sketch_ = sketch
        self.method_ = method
        self.sketch_size_ = n_rows
        self.n_rows_seen_ = n_samples
        data_scale = scale or DataScale.identity(n_features, Y.shape[1])
        if method == "sketch_and_solve":
            self._solve_sketch(partial, data_scale, sketch, single_output)
        else:
            self._precondition(reduce, partial, data_scale, single_output, not _is_dask(X))
        return self

    def _precondition(self, reduce, partial, scale, single_output, keep_blocks):
        """Exact solve preconditioned by the sketch: passes over the data by ``reduce``."""
        d = self.n_features_in_
        SA, _, x_mean, y_mean = split_sketch(partial, d, self.fit_intercept)
        x_exponents, y_exponents = sketch_exponents(partial, d)
        coef, self.rank_, self.history_ = precondition_solve(
            reduce,
            SA,
            x_mean,
            y_mean,
            self.refine_steps,
            x_exponents,
            y_exponents,
            keep_blocks=keep_blocks,
        )
        # precondition_solve leaves y in its units: equilibrate it only now.
        coef_eq = np.ldexp(coef, -y_exponents)
        coef = to_data_units(coef_eq, x_exponents + scale.x, y_exponents + scale.y)
        self._set_solution(coef, *scale.unscale_means(x_mean, y_mean), single_output)
        self.n_iter_ = len(self.history_)
        self.linf_radius_ = 0.0 if single_output else np.zeros(len(y_mean))

    def _fit_exact(self, X, y, sample_weight, single_output):
        if _is_dask(X):
            X, y = np.asarray(X.compute()), np.asarray(y.compute())
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight.compute())
            X, y, sample_weight = self._validate(X, y, sample_weight, reset=True)
        Y = y.reshape(len(X), -1)
        # One power of two for X, one per target and one for the weights: in range
        # at any scale, and the minimum-norm solution stays the minimum-norm one.
        scale = DataScale.of(X, Y, sample_weight)
        X, Y, sample_weight = scale.apply(X, Y, sample_weight)
        weights = np.ones(len(X)) if sample_weight is None else sample_weight
        if self.fit_intercept:
            x_mean, y_mean = weights @ X / weights.sum(), weights @ Y / weights.sum()
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
        root = np.sqrt(weights)[:, None]
        Xc, Yc = (X - x_mean) * root, (Y - y_mean) * root
        # Like LinearRegression: the minimum-norm solution, silently, when rank deficient.
        x_exponents, y_exponents = column_exponents(X), column_exponents(Y)
        coef_eq, self.rank_, _, _ = solve_small(Xc, Yc, x_exponents, y_exponents, warn=False)
        coef = to_data_units(coef_eq, x_exponents + scale.x, y_exponents + scale.y)
        self._set_solution(coef, *scale.unscale_means(x_mean, y_mean), single_output)
        self.method_ = "exact"
        self.sketch_ = None
        self.sketch_size_ = len(X)
        self.n_rows_seen_ = len(X)
        self.n_iter_ = 1
        self.history_ = [{"iteration": 1, "relative_correction": 1.0}]
        self.linf_radius_ = 0.0 if single_output else np.zeros(Y.shape[1])
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """Add a chunk of rows to the sketch and re-solve (sketch-and-solve).

        Rows are numbered in the order they arrive, so any sequence of chunks gives
        the same sketch as one ``fit`` on their concatenation with
        ``method="sketch_and_solve"`` (up to rounding), when that fit sketches
        (``n_samples`` larger than the sketch). Unlike ``fit``, ``partial_fit``
        always sketches: it cannot know how many rows will come. ``fit`` ends a
        stream: the next ``partial_fit`` starts a new one. A call that raises leaves
        the model as it was.

        Parameters
        ----------
        X : array-like of shape (n_chunk, n_features)
            The next rows of the design.
        y : array-like of shape (n_chunk,) or (n_chunk, n_targets)
            Their targets (same number of targets in every chunk).
        sample_weight : array-like of shape (n_chunk,) or None, default=None
            Non-negative weights of these rows.

        Returns
        -------
        self : SketchedLinearRegression
        """
        stream = getattr(self, "_stream", None)
        if stream is None:
            validate_params(self)
            if self.method == "precondition":
                raise ValueError(
                    "method='precondition' needs several passes over the data; partial_fit "
                    "streams it once: use method='sketch_and_solve' or 'auto'."
                )
        with _restore_on_error(self):
            X, y, sample_weight = self._validate(X, y, sample_weight, reset=stream is None)
            if _is_dask(X):
                raise TypeError("partial_fit takes in-memory chunks; pass dask arrays to fit.")
            Y = y.reshape(len(X), -1)
            n_features = self.n_features_in_
            if stream is None:
                method = "sketch_and_solve"
                n_rows = self._n_rows(method, np.iinfo(np.int64).max, n_features)
                sketch = self._make_sketch(method, n_rows, n_features)
                stream = SketchStream(sketch, Y.shape[1])
            elif Y.shape[1] != stream.n_targets:
                raise ValueError(
                    f"y has {Y.shape[1]} targets, but earlier chunks had {stream.n_targets}."
                )
            stream = stream.added(X, Y, sample_weight)
            # A stream that has shown no more rows than columns is rank deficient by
            # construction: no warning until it could be otherwise.
            enough = stream.n_rows > n_features + self.fit_intercept
            self._solve_sketch(
                stream.partial, stream.scale, stream.sketch, y.ndim == 1, warn=enough
            )
            self._stream = stream
            self.sketch_ = stream.sketch
            self.sketch_size_ = stream.sketch.n_rows
            self.method_ = "sketch_and_solve"
            self.n_rows_seen_ = stream.n_rows
        return self

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            A lazy dask array when X is one.
        """
        check_is_fitted(self)
        if _is_dask(X):
            self._validate(X, np.zeros(X.shape[0]), None, reset=False)
            return X.astype(np.float64) @ self.coef_.T + self.intercept_
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_.T + self.intercept_
