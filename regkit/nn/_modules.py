"""Layers and networks of regkit's neural estimators.

The layers are torch's, with two changes that the engine relies on:

- randomness comes from the generator of the running fit (:func:`current_generator`),
  never from torch's global one: ``Linear`` draws its initial weights from it (with
  torch's default initialisation) and ``Dropout`` its masks;
- under :func:`batch_invariant`, ``Linear`` and the smooth activations compute each
  row with a fixed sequence of correctly rounded operations, so that predictions do
  not depend on the batch (see :mod:`regkit.nn._invariant`).

Their parameters, ``state_dict`` keys and ``repr`` are torch's.
"""

import math

import torch
from torch import nn

from regkit.nn import invariant
from regkit.nn._random import current_generator

__all__ = ["ACTIVATIONS", "Dropout", "Linear", "make_mlp", "mlp_width"]


class Linear(nn.Linear):
    """:class:`torch.nn.Linear`, seeded by the running fit and batch-invariant in evaluation.

    Parameters
    ----------
    in_features, out_features : int
        Input and output widths.
    bias : bool, default=True
        Whether to add a learnable bias.
    device, dtype : optional
        As for :class:`torch.nn.Linear`.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import Linear, make_generator, use_generator
    >>> with use_generator(make_generator(0)):
    ...     layer = Linear(3, 2)
    >>> layer(torch.ones(4, 3)).shape
    torch.Size([4, 2])
    """

    def reset_parameters(self):
        """Torch's default initialisation, drawn from :func:`current_generator`."""
        if self.weight.device.type == "meta":  # shapes only (loading checks a file)
            return
        generator = current_generator(self.weight.device)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        """``x @ weight.T + bias`` (with :func:`invariant.linear` in batch-invariant mode).

        Parameters
        ----------
        x : Tensor of shape (..., in_features)
            Inputs.

        Returns
        -------
        y : Tensor of shape (..., out_features)
        """
        if invariant.is_batch_invariant():
            return invariant.linear(x, self.weight, self.bias)
        return super().forward(x)


class Dropout(nn.Module):
    """Dropout whose masks come from the running fit's generator.

    In training mode each element is zeroed with probability ``p`` and the others
    are scaled by ``1 / (1 - p)``, as :class:`torch.nn.Dropout` does; the mask is
    drawn from :func:`current_generator`, so two fits in two threads do not share
    random state. In evaluation mode it is the identity.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an element, in ``[0, 1]``.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import Dropout, make_generator, use_generator
    >>> layer = Dropout(0.5)
    >>> with use_generator(make_generator(0)):
    ...     out = layer(torch.ones(1000))
    >>> sorted(set(out.tolist()))
    [0.0, 2.0]
    >>> bool(torch.equal(layer.eval()(torch.ones(3)), torch.ones(3)))
    True
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability must be in [0, 1], got {p!r}.")
        self.p = float(p)

    def forward(self, x):
        """Zero elements at random in training mode; the identity otherwise.

        Parameters
        ----------
        x : Tensor
            Inputs.

        Returns
        -------
        y : Tensor
            Like ``x``.
        """
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return torch.zeros_like(x)
        noise = torch.rand(
            x.shape, generator=current_generator(x.device), device=x.device, dtype=x.dtype
        )
        return x * (noise >= self.p) / (1 - self.p)

    def extra_repr(self):
        """The probability, shown in the module's ``repr``.

        Returns
        -------
        text : str
        """
        return f"p={self.p}"


class GELU(nn.GELU):
    """:class:`torch.nn.GELU`, batch-invariant in evaluation."""

    def forward(self, x):
        if not invariant.is_batch_invariant():
            return super().forward(x)
        if self.approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1.0 + invariant.tanh(inner))
        return invariant.gelu(x)


class SiLU(nn.SiLU):
    """:class:`torch.nn.SiLU`, batch-invariant in evaluation."""

    def forward(self, x):
        return invariant.silu(x) if invariant.is_batch_invariant() else super().forward(x)


class Tanh(nn.Tanh):
    """:class:`torch.nn.Tanh`, batch-invariant in evaluation."""

    def forward(self, x):
        return invariant.tanh(x) if invariant.is_batch_invariant() else super().forward(x)


class ELU(nn.ELU):
    """:class:`torch.nn.ELU`, batch-invariant in evaluation."""

    def forward(self, x):
        if invariant.is_batch_invariant():
            return invariant.elu(x, self.alpha)
        return super().forward(x)


# ReLU, LeakyReLU and the identity are already exact elementwise operations
# (a comparison, a selection, one multiplication), so torch's modules serve.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": GELU,
    "silu": SiLU,
    "tanh": Tanh,
    "elu": ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def make_mlp(
    n_inputs, hidden_layer_sizes=(100,), *, n_outputs=None, activation="relu", dropout=0.0
):
    """Build a multilayer perceptron as a :class:`torch.nn.Sequential`.

    Built from :class:`Linear` and :class:`Dropout`: initialise it inside
    :func:`use_generator` for reproducible weights.

    Parameters
    ----------
    n_inputs : int
        Width of the input.
    hidden_layer_sizes : sequence of int, default=(100,)
        Width of each hidden layer; an empty sequence gives a linear model.
    n_outputs : int or None, default=None
        Width of a final linear layer. ``None`` returns the trunk alone, ending in
        the last hidden activation (for models that add their own heads).
    activation : {"relu", "gelu", "silu", "tanh", "elu", "leaky_relu", "identity"}
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.

    Returns
    -------
    mlp : torch.nn.Sequential

    Examples
    --------
    >>> from regkit.nn import make_mlp
    >>> make_mlp(3, (8,), n_outputs=1)
    Sequential(
      (0): Linear(in_features=3, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=1, bias=True)
    )
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
    layers = []
    width = n_inputs
    for size in hidden_layer_sizes:
        layers += [Linear(width, int(size)), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = int(size)
    if n_outputs is not None:
        layers.append(Linear(width, n_outputs))
    return nn.Sequential(*layers)


def mlp_width(n_inputs, hidden_layer_sizes):
    """Width of the output of ``make_mlp(n_inputs, hidden_layer_sizes)`` (no head).

    Parameters
    ----------
    n_inputs : int
        Width of the input.
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers.

    Returns
    -------
    width : int
        The last hidden width, or ``n_inputs`` when there is no hidden layer.
    """
    return int(hidden_layer_sizes[-1]) if len(hidden_layer_sizes) else n_inputs
