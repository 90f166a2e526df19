"""Unlearning trade-off: an error of each model against the seconds it took."""

import numpy as np


class UnlearningDisplay:
    """One metric of each unlearned model against its cost, the retrained model marked.

    Built from the DataFrame of :func:`~regkit.unlearning.unlearning_report` with
    :meth:`from_report`. Each model with a time is a point (seconds, metric); the
    reference (retrained) model is a star with a dashed horizontal line at its
    value, the target of every unlearner; models without a time (the original)
    are dotted horizontal lines.

    Parameters
    ----------
    names : list of str
        Model names.
    seconds : ndarray of shape (n_models,)
        Seconds each model took (NaN: no time).
    values : ndarray of shape (n_models,)
        The metric of each model.
    metric : str
        Name of the metric (the y-axis label).
    reference : str or None, default=None
        Name of the reference model.

    Attributes
    ----------
    points_ : dict of str to matplotlib PathCollection
        The marker of each model with a time.
    lines_ : dict of str to matplotlib Line2D
        The horizontal line of the reference and of each model without a time.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from regkit.plotting import UnlearningDisplay
    >>> report = pd.DataFrame(
    ...     {"seconds": [float("nan"), 2.0, 0.1], "forget_mae": [1.0, 3.0, 2.5]},
    ...     index=["original", "retrain", "exact"],
    ... )
    >>> display = UnlearningDisplay.from_report(report, reference="retrain")  # doctest: +SKIP
    >>> display = UnlearningDisplay(
    ...     names=list(report.index),
    ...     seconds=report["seconds"],
    ...     values=report["forget_mae"],
    ...     metric="forget_mae",
    ...     reference="retrain",
    ... )
    >>> display.values.tolist()
    [1.0, 3.0, 2.5]
    """

    def __init__(self, *, names, seconds, values, metric, reference=None):
        self.names = list(names)
        self.seconds = np.asarray(seconds, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)
        if not len(self.names) == len(self.seconds) == len(self.values):
            raise ValueError(
                f"names, seconds and values must have one entry per model; got "
                f"{len(self.names)}, {len(self.seconds)} and {len(self.values)}."
            )
        if reference is not None and reference not in self.names:
            raise ValueError(f"reference={reference!r} is not one of the models {self.names}.")
        self.metric = metric
        self.reference = reference

    @classmethod
    def from_report(cls, report, *, metric="forget_mae", reference=None, ax=None):
        """Plot one column of an unlearning report against ``seconds``.

        Parameters
        ----------
        report : pandas.DataFrame
            From :func:`~regkit.unlearning.unlearning_report` (index: model names;
            a ``seconds`` column).
        metric : str, default="forget_mae"
            The column on the y-axis.
        reference : str or None, default=None
            The reference model; None: ``report.attrs["reference"]`` when set.
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure is created when None.

        Returns
        -------
        display : UnlearningDisplay
        """
        for column in ("seconds", metric):
            if column not in report.columns:
                raise ValueError(
                    f"report has no column {column!r}; columns: {list(report.columns)}."
                )
        if reference is None:
            reference = report.attrs.get("reference")
        display = cls(
            names=[str(name) for name in report.index],
            seconds=report["seconds"].to_numpy(),
            values=report[metric].to_numpy(),
            metric=metric,
            reference=reference,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the models.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure is created when None.

        Returns
        -------
        self : UnlearningDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.points_, self.lines_ = {}, {}
        for name, seconds, value in zip(self.names, self.seconds, self.values):
            is_reference = name == self.reference
            if is_reference:
                self.lines_[name] = ax.axhline(
                    value,
                    color="black",
                    linestyle="--",
                    linewidth=1,
                    label=f"{name} (reference)" if np.isnan(seconds) else None,
                )
            if np.isnan(seconds):
                if not is_reference:
                    self.lines_[name] = ax.axhline(
                        value, color="grey", linestyle=":", linewidth=1, label=name
                    )
                continue
            label = f"{name} (reference)" if is_reference else name
            marker, size = ("*", 200) if is_reference else ("o", 60)
            self.points_[name] = ax.scatter(
                seconds, value, marker=marker, s=size, label=label, zorder=3
            )
        timed = self.seconds[~np.isnan(self.seconds)]
        if timed.size and timed.min() > 0 and timed.max() / timed.min() > 20:
            ax.set_xscale("log")
        ax.set(xlabel="seconds", ylabel=self.metric)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
