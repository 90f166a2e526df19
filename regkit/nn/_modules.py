"""Building blocks for the networks of regkit's neural estimators."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def make_mlp(
    n_inputs, hidden_layer_sizes=(100,), *, n_outputs=None, activation="relu", dropout=0.0
):
    """Build a multilayer perceptron as a :class:`torch.nn.Sequential`.

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
        layers += [nn.Linear(width, int(size)), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    if n_outputs is not None:
        layers.append(nn.Linear(width, n_outputs))
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
