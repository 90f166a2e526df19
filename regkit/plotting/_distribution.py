"""Plot predicted target distributions (histograms over bins) for a few inputs."""

import numpy as np


class PredictedDistributionDisplay:
    """Predicted densities of the target, one step curve per input row.

    Built from an estimator with a ``predict_distribution(X)`` method returning
    ``(bin_edges, probabilities)``, such as
    :class:`~regkit.regression.HistogramRegressor` (single output), or from such a
    distribution directly. Probabilities are drawn as densities (divided by the bin
    widths), so that curves on different bins compare.

    Parameters
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
        Bin edges, in the units of the target.
    probabilities : ndarray of shape (n_rows, n_bins)
        Predicted probability of each bin, one row per input.
    labels : list of str or None, default=None
        Legend entry of each row.
    y_true : array-like of shape (n_rows,) or None, default=None
        Observed targets, drawn as dotted vertical lines in the row's colour.

    Attributes
    ----------
    stairs_ : list of matplotlib StepPatch
        One step curve per row.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.plotting import PredictedDistributionDisplay
    >>> display = PredictedDistributionDisplay(
    ...     bin_edges=np.linspace(0, 1, 5), probabilities=np.array([[0.1, 0.4, 0.4, 0.1]])
    ... )
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(self, *, bin_edges, probabilities, labels=None, y_true=None):
        self.bin_edges = np.asarray(bin_edges, dtype=np.float64)
        self.probabilities = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
        if self.bin_edges.ndim != 1 or self.probabilities.shape[1] != len(self.bin_edges) - 1:
            raise ValueError(
                "bin_edges must be 1-D with one more entry than probabilities has columns; "
                f"got shapes {self.bin_edges.shape} and {self.probabilities.shape} (a "
                "multi-output model has one histogram per output: pick one)."
            )
        self.labels = labels
        self.y_true = y_true

    def plot(self, ax=None, **kwargs):
        """Draw the densities.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.stairs` for every row.

        Returns
        -------
        self : PredictedDistributionDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        density = self.probabilities / np.diff(self.bin_edges)
        labels = self.labels or [f"row {i}" for i in range(len(density))]
        self.stairs_ = []
        for i, row in enumerate(density):
            stairs = ax.stairs(row, self.bin_edges, label=labels[i], **kwargs)
            self.stairs_.append(stairs)
            if self.y_true is not None:
                ax.axvline(
                    np.asarray(self.y_true)[i],
                    color=stairs.get_edgecolor(),
                    linestyle=":",
                )
        ax.set(xlabel="target", ylabel="predicted density")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, *, y=None, labels=None, ax=None, **kwargs):
        """Predict the distributions of the rows of ``X`` and plot them.

        Parameters
        ----------
        estimator : estimator or Pipeline
            Fitted; it (or a Pipeline's last step) has ``predict_distribution``. A
            Pipeline's earlier steps transform ``X`` first.
        X : array-like of shape (n_rows, n_features)
            The inputs whose predicted distributions are drawn (a few rows).
        y : array-like of shape (n_rows,) or None, default=None
            Observed targets of those rows, drawn as vertical lines.
        labels : list of str or None, default=None
            Legend entry of each row.
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure is created when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : PredictedDistributionDisplay
        """
        from sklearn.pipeline import Pipeline

        if isinstance(estimator, Pipeline):
            X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        if not hasattr(estimator, "predict_distribution"):
            raise TypeError(
                f"estimator must have a predict_distribution method; "
                f"{type(estimator).__name__} has none."
            )
        bin_edges, probabilities = estimator.predict_distribution(X)
        display = cls(bin_edges=bin_edges, probabilities=probabilities, labels=labels, y_true=y)
        return display.plot(ax=ax, **kwargs)
