"""A sketch accumulated over a stream of row chunks, in range at any data scale."""

from regkit.sketching._scaling import DataScale
from regkit.sketching._solve import sketch_partial

__all__ = ["SketchStream"]


class SketchStream:
    """The partial sketch ``S sqrt(w) [X | Y | 1]`` (plus column sums) of the rows so far.

    The sum is kept in the units of ``scale``: every chunk is divided by powers of
    two that bring its entries below 1, and when a chunk needs a larger power than
    the chunks before, the sum is rescaled (exact). Rounding commutes with powers of
    two, so the stream equals the unscaled sum wherever that one is in range.

    Immutable: :meth:`added` returns a new stream, so that an estimator whose update
    fails keeps the stream it had.

    Parameters
    ----------
    sketch : BaseSketch
        The operator; rows are numbered in arrival order.
    n_targets : int
        Columns of Y (every chunk must have as many).
    """

    def __init__(self, sketch, n_targets):
        self.sketch = sketch
        self.n_targets = n_targets
        self.n_rows = 0
        self.partial = None
        self.scale = None

    def added(self, X, Y, w):
        """The stream with the chunk ``(X, Y, w)`` (validated, in memory) appended.

        Parameters
        ----------
        X : ndarray of shape (n_chunk, n_features)
        Y : ndarray of shape (n_chunk, n_targets)
        w : ndarray of shape (n_chunk,) or None

        Returns
        -------
        stream : SketchStream
        """
        scale = DataScale.of(X, Y, w)
        previous = None
        if self.scale is not None:
            scale = self.scale.union(scale)
            previous = self.scale.rescale_partial(self.partial, scale)
        term = sketch_partial(*scale.apply(X, Y, w), self.n_rows, self.sketch, check_finite=False)
        stream = SketchStream(self.sketch, self.n_targets)
        stream.n_rows = self.n_rows + len(X)
        stream.partial = term if previous is None else previous + term
        stream.scale = scale
        return stream
