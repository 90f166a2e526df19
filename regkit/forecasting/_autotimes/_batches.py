"""Minibatches of AutoTimes training windows, with a training budget counted in steps."""

import torch

from regkit.nn import BatchSource


class WindowBatches(BatchSource):
    """Shuffled minibatches of windows: a full pass per epoch, or a fixed number of steps.

    With a frozen LLM of 100M+ parameters a step costs about a second on a CPU, so a
    pass over every window of a long series (thousands) is a budget nobody chose.
    ``steps_per_epoch`` caps an epoch at that many minibatches: the rows of each epoch
    are the next ones of a random order that is redrawn when it runs out, so every
    window is seen once before any is seen twice.

    Parameters
    ----------
    windows : torch.Tensor of shape (n_windows, window_length)
        The training windows.
    positions : torch.Tensor of shape (n_windows, n_segments) or None
        Row indices of each segment's timestamp embedding (None without timestamps).
    batch_size : int
        Windows per minibatch (capped at the number of windows).
    steps_per_epoch : int or None, default=None
        Minibatches per epoch; None is one pass over all windows.

    Examples
    --------
    >>> import torch
    >>> from regkit.forecasting._autotimes._batches import WindowBatches
    >>> from regkit.nn import make_generator
    >>> source = WindowBatches(torch.arange(5.0)[:, None], batch_size=2, steps_per_epoch=4)
    >>> batches = list(source.batches(make_generator(0)))
    >>> len(source), [len(windows) for windows, _ in batches]
    (4, [2, 2, 2, 2])
    >>> sorted(torch.cat([w for w, _ in batches[:2]] + [batches[2][0][:1]]).ravel().tolist())
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """

    def __init__(self, windows, positions=None, *, batch_size, steps_per_epoch=None):
        self.windows = windows
        self.positions = positions
        self.batch_size = max(1, min(int(batch_size), len(windows)))
        self.steps_per_epoch = steps_per_epoch
        self._order = torch.empty(0, dtype=torch.long)

    def __len__(self):
        if self.steps_per_epoch is None:
            return -(-len(self.windows) // self.batch_size)
        return int(self.steps_per_epoch)

    def batches(self, generator):
        """Yield one epoch of ``(windows, positions)`` minibatches.

        Parameters
        ----------
        generator : torch.Generator
            Draws the order of the windows.

        Yields
        ------
        batch : tuple of (torch.Tensor, torch.Tensor or None)
        """
        n = len(self.windows)
        if self.steps_per_epoch is None:
            self._order = torch.empty(0, dtype=torch.long)
            rows = torch.randperm(n, generator=generator)
            chunks = rows.split(self.batch_size)
        else:
            chunks = [self._next_rows(generator) for _ in range(self.steps_per_epoch)]
        for chunk in chunks:
            chunk = chunk.to(self.windows.device)
            positions = None if self.positions is None else self.positions[chunk]
            yield self.windows[chunk], positions

    def _next_rows(self, generator):
        while len(self._order) < self.batch_size:
            fresh = torch.randperm(len(self.windows), generator=generator)
            self._order = torch.cat([self._order, fresh])
        rows, self._order = self._order[: self.batch_size], self._order[self.batch_size :]
        return rows
