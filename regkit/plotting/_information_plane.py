"""The information plane of an information-bottleneck model."""

import numpy as np


def _history_owner(estimator):
    """The step of ``estimator`` (a Pipeline's last) whose history has ``i_xt``."""
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    history = getattr(final, "history_", None)
    if not history or "i_xt" not in history[0]:
        raise ValueError(
            f"{type(final).__name__} has no information-plane history: fit a model that "
            "records i_xt and i_yt each epoch (such as CSIBRegressor) first."
        )
    return final


class InformationPlaneDisplay:
    """Information plane: ``I(x; t)`` against ``I(y; t)``, per epoch or per ``beta``.

    Build it with :meth:`from_estimator` (the training trajectory stored in
    ``history_``) or :meth:`from_sweep` (one point per ``beta`` of
    :func:`regkit.regression.csib_beta_sweep`); then call :meth:`plot`.

    Parameters
    ----------
    i_xt : ndarray of shape (n_points,)
        Compression axis, ``I(x; t)`` (normalised CS-QMI).
    i_yt : ndarray of shape (n_points,)
        Relevance axis, ``I(y; t)``.
    color_values : ndarray of shape (n_points,) or None, default=None
        Values that colour the points (epochs or betas).
    color_label : str, default=""
        Name of ``color_values`` for the colour bar.
    annotations : list of str or None, default=None
        A text label per point.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    line_ : matplotlib Line2D
        The trajectory line.
    scatter_ : matplotlib PathCollection
        The points.

    Examples
    --------
    >>> import numpy as np
    >>> from regkit.plotting import InformationPlaneDisplay
    >>> display = InformationPlaneDisplay(
    ...     i_xt=np.array([0.9, 0.6, 0.5]), i_yt=np.array([0.4, 0.5, 0.5]),
    ...     color_values=np.arange(1, 4), color_label="epoch")
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(self, *, i_xt, i_yt, color_values=None, color_label="", annotations=None):
        self.i_xt = np.asarray(i_xt, dtype=float)
        self.i_yt = np.asarray(i_yt, dtype=float)
        if self.i_xt.shape != self.i_yt.shape or self.i_xt.ndim != 1:
            raise ValueError(
                f"i_xt and i_yt must be 1-D and of the same length, got shapes "
                f"{self.i_xt.shape} and {self.i_yt.shape}."
            )
        self.color_values = None if color_values is None else np.asarray(color_values)
        self.color_label = color_label
        self.annotations = annotations

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, **kwargs):
        """Plot the training trajectory recorded in ``history_``.

        Parameters
        ----------
        estimator : CSIBRegressor or Pipeline ending in one
            A fitted model whose ``history_`` records ``i_xt`` and ``i_yt``.
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : InformationPlaneDisplay
        """
        history = _history_owner(estimator).history_
        display = cls(
            i_xt=[record["i_xt"] for record in history],
            i_yt=[record["i_yt"] for record in history],
            color_values=[record["epoch"] for record in history],
            color_label="epoch",
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_sweep(cls, table, *, ax=None, **kwargs):
        """Plot one point per ``beta`` of a sweep.

        Parameters
        ----------
        table : DataFrame
            The output of :func:`regkit.regression.csib_beta_sweep` (columns
            ``beta``, ``i_xt``, ``i_yt``).
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : InformationPlaneDisplay
        """
        display = cls(
            i_xt=table["i_xt"].to_numpy(),
            i_yt=table["i_yt"].to_numpy(),
            color_values=np.log10(np.maximum(table["beta"].to_numpy(), 1e-6)),
            color_label="log10 beta",
            annotations=[f"β={beta:g}" for beta in table["beta"]],
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, cmap="viridis", colorbar=True, **kwargs):
        """Draw the information plane.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure when None.
        cmap : str, default="viridis"
            Colour map of the points.
        colorbar : bool, default=True
            Add a colour bar when the points are coloured.
        **kwargs
            Passed to the ``scatter`` call.

        Returns
        -------
        self : InformationPlaneDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        (self.line_,) = ax.plot(self.i_xt, self.i_yt, color="0.7", linewidth=1, zorder=1)
        self.scatter_ = ax.scatter(
            self.i_xt, self.i_yt, c=self.color_values, cmap=cmap, zorder=2, **kwargs
        )
        if colorbar and self.color_values is not None:
            ax.figure.colorbar(self.scatter_, ax=ax, label=self.color_label)
        for text, x, y in zip(self.annotations or [], self.i_xt, self.i_yt):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set(xlabel="I(x; t)  (normalised CS-QMI)", ylabel="I(y; t)  (normalised CS-QMI)")
        self.ax_, self.figure_ = ax, ax.figure
        return self
