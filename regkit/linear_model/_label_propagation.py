"""Semi-supervised label propagation on a kNN graph, solved by message passing on forests."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from regkit.linear_model._base import BCD_ATTRIBUTES, BCD_CONSTRAINTS, BCDFitMixin, bcd_doc
from regkit.linear_model._problems import unit_exponent
from regkit.optim import GraphQuadratic
from regkit.utils import fill_doc, store_init_params, validate_params


def unlabeled_mask(y):
    """True where ``y`` is -1 (scikit-learn's marker of an unlabelled sample)."""
    y = np.asarray(y)
    if y.dtype.kind in "OUS":  # string labels: only an explicit -1 / "-1" is unlabelled
        return np.array([v == -1 or v == "-1" for v in y.tolist()], dtype=bool)
    return y == -1


def unit_scale(X):
    """``X`` divided by the power of two at its largest magnitude, and that exponent.

    Neighbours do not change under a common scale, but distances of entries near
    1e160 overflow and those near 1e-200 underflow; a power of two rescales exactly.
    """
    exponent = unit_exponent(X)
    return scale_by(X, exponent), exponent


def scale_by(X, exponent):
    """``X * 2**-exponent``, exactly (sparse structure kept)."""
    if sp.issparse(X):
        X = X.copy()
        X.data = np.ldexp(X.data, -exponent)
        return X
    return np.ldexp(X, -exponent)


def knn_graph(X, n_neighbors, neighbors=None):
    """Symmetric 0/1 kNN adjacency: ``i ~ j`` when either is among the other's neighbours.

    ``neighbors`` is a ``NearestNeighbors`` already fitted on ``X``, if one is at hand.
    """
    n = X.shape[0]
    k = min(n_neighbors, n - 1)
    if k < 1:
        return sp.csr_array((n, n))
    if neighbors is None:
        neighbors = NearestNeighbors().fit(X)
    graph = neighbors.kneighbors_graph(n_neighbors=k, mode="connectivity")
    graph = sp.csr_array(graph)
    return sp.csr_array(graph.maximum(graph.T))


@fill_doc(
    bcd_parameters=bcd_doc(selection="gsl", blocks="forest", update="message-passing",
                           tol=1e-4, max_iter=10000),
    bcd_attributes=BCD_ATTRIBUTES,
)  # fmt: skip
class BCDLabelPropagation(ClassifierMixin, BCDFitMixin, BaseEstimator):
    """Label propagation (harmonic functions) by greedy block coordinate descent.

    Labels spread over a symmetric k-nearest-neighbour graph with 0/1 weights ``w``:
    for every class the scores ``F`` of the unlabelled nodes minimise

    ``1/2 sum_ij w_ij (F_i - F_j)^2 + reg/2 sum_i F_i^2``

    with the labelled nodes clamped to their one-hot labels, the quadratic
    ``F' (L_uu + reg I) F / 2 - F' W_ul Y_l`` (Zhu, Ghahramani & Lafferty 2003; the
    fixed point :class:`sklearn.semi_supervised.LabelPropagation` iterates to, here
    with a symmetrised graph). By default each iteration grows a maximal forest of
    the graph greedily by Gauss-Southwell-Lipschitz score and solves it exactly by
    message passing, the best method of Nutini, Laradji & Schmidt (2022) on their
    label-propagation problem. As in scikit-learn, ``-1`` in ``y`` marks an
    unlabelled sample.

    Parameters
    ----------
    n_neighbors : int, default=7
        Neighbours of each sample in the graph (capped at ``n_samples - 1``).

    reg : float, default=1e-6
        Ridge on the unlabelled scores; keeps the problem strictly convex when a
        part of the graph holds no label (its nodes then get uniform
        distributions).

    {bcd_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``-1`` excluded).

    label_distributions_ : ndarray of shape (n_samples, n_classes)
        Normalised class scores of every training sample.

    transduction_ : ndarray of shape (n_samples,)
        Label of every training sample (given or propagated).

    X_train_ : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training inputs, used to place new samples on the graph.

    n_features_in_ : int
        Number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    {bcd_attributes}

    See Also
    --------
    sklearn.semi_supervised.LabelPropagation : Fixed-point iteration on the same problem.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from regkit.linear_model import BCDLabelPropagation
    >>> X, y = make_moons(200, noise=0.05, random_state=0)
    >>> y_partial = np.full_like(y, -1)
    >>> y_partial[:10] = y[:10]
    >>> model = BCDLabelPropagation(n_neighbors=7).fit(X, y_partial)
    >>> float((model.transduction_ == y).mean()) > 0.95
    True
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "reg": [Interval(Real, 0, None, closed="neither")],
        **BCD_CONSTRAINTS,
    }

    def __init__(
        self,
        n_neighbors=7,
        *,
        reg=1e-6,
        selection="gsl",
        blocks="forest",
        block_size="auto",
        partition="sort",
        update="message-passing",
        tol=1e-4,
        max_iter=10000,
        max_time=None,
        callback=None,
        random_state=None,
    ):
        store_init_params(self, locals())

    def fit(self, X, y):
        """Propagate the labels of ``y`` (``-1`` = unlabelled) over the graph of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, labelled and unlabelled.
        y : array-like of shape (n_samples,)
            Labels, ``-1`` for unlabelled samples.

        Returns
        -------
        self : BCDLabelPropagation
        """
        validate_params(self)
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        unlabeled = unlabeled_mask(y)
        if unlabeled.all():
            raise ValueError("y has no labelled sample: at least one label other than -1 needed.")
        self.classes_, codes = np.unique(y[~unlabeled], return_inverse=True)
        n_classes = len(self.classes_)
        # One neighbour index serves the graph and, later, predict_proba; on X
        # rescaled by a power of two so that distances neither overflow nor underflow.
        scaled, self._exponent = unit_scale(X)
        self._neighbors = NearestNeighbors().fit(scaled)
        W = knn_graph(scaled, self.n_neighbors, self._neighbors)
        F = np.zeros((len(y), n_classes))
        F[np.flatnonzero(~unlabeled), codes] = 1.0
        u, lab = np.flatnonzero(unlabeled), np.flatnonzero(~unlabeled)
        if len(u):
            W_uu = W[u][:, u]
            degree = np.asarray(W[u].sum(axis=1)).ravel()
            Q = sp.diags_array(degree + self.reg) - W_uu
            datafit = GraphQuadratic(Q, np.asarray(W[u][:, lab] @ F[lab]))
            result = self._make_solver().solve(datafit)
            F[u] = np.clip(result.x, 0.0, None)
            self._record_result(result)
        else:
            self.n_iter_, self.history_, self.converged_, self.dual_gap_ = 1, [], True, np.nan
        self.X_train_ = X
        self.label_distributions_ = self._normalise(F)
        self.transduction_ = self.classes_[np.argmax(self.label_distributions_, axis=1)]
        return self

    @staticmethod
    def _normalise(F):
        total = F.sum(axis=1, keepdims=True)
        uniform = np.full_like(F, 1.0 / F.shape[1])
        return np.where(total > 0, F / np.where(total > 0, total, 1.0), uniform)

    def predict_proba(self, X):
        """Class distribution of new samples: the mean over their training neighbours.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        k = min(self.n_neighbors, self.X_train_.shape[0])
        scaled = scale_by(X, self._exponent)
        neighbours = self._neighbors.kneighbors(scaled, n_neighbors=k, return_distance=False)
        return self._normalise(self.label_distributions_[neighbours].mean(axis=1))

    def predict(self, X):
        """Most likely class of new samples (see :meth:`predict_proba`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
