"""Hidden activations of a network, recorded by forward hooks, and a distance between them.

Blindspot unlearning matches the hidden activations of the model being unlearned
to those of a model that never learnt the forget rows. Which modules count as
hidden layers, how their outputs are recorded while the estimator's own loss runs,
and how two sets of activations are compared live here.
"""

import contextlib

import torch
from torch import nn

# Torch's element-wise activation modules (regkit's own activations subclass them).
# nn.Identity is the "identity" activation of regkit's networks: after a hidden
# linear layer it marks the end of a hidden block all the same.
ACTIVATION_MODULES = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ReLU6,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Hardtanh,
    nn.Identity,
)

# Below this Euclidean norm a sample's activations count as zero (no direction).
_NORM_EPS = 1e-6


def activation_layers(module):
    """The hidden layers of ``module`` whose outputs Blindspot matches.

    Every submodule that is one of torch's element-wise activation modules
    (:class:`torch.nn.ReLU`, ``GELU``, ``Tanh``, ... and the subclasses regkit's
    networks are built from, see :data:`regkit.nn.ACTIVATIONS`), in the order of
    ``module.modules()``: the output of each hidden block of a
    :func:`~regkit.nn.make_mlp` network, of both halves of a CS-IB network, of a
    custom histogram backbone built from torch modules. A network without any
    (a linear AR-Net) has no hidden layer.

    Parameters
    ----------
    module : torch.nn.Module
        A network.

    Returns
    -------
    layers : list of torch.nn.Module
    """
    return [sub for sub in module.modules() if isinstance(sub, ACTIVATION_MODULES)]


@contextlib.contextmanager
def recorded_outputs(layers):
    """Record the outputs of ``layers`` during the block, in the order they fire.

    The hooks are removed when the block ends, so the module carries none
    afterwards (nothing is left on a model that is copied, pickled or saved).

    Parameters
    ----------
    layers : iterable of torch.nn.Module
        The modules to watch.

    Yields
    ------
    outputs : list of Tensor
        Filled while the block runs: one entry per call of a watched layer.
    """
    outputs = []

    def hook(layer, inputs, output):
        outputs.append(output)

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def unit_rows(activation):
    """Each row's activations, flattened and divided by their Euclidean norm.

    Parameters
    ----------
    activation : Tensor of shape (n_samples, ...)
        One layer's output.

    Returns
    -------
    unit : Tensor of shape (n_samples, n_units)
        Rows of norm 1 (a row of zeros stays zero).
    """
    flat = activation.reshape(len(activation), -1)
    return nn.functional.normalize(flat, dim=1, eps=_NORM_EPS)


def activation_distance(activations, references, sample_weight=None):
    """Distance between two networks' hidden activations on the same rows.

    Each layer's view of the rows is the matrix of cosine similarities between
    the rows' activations, ``S[i, j] = <a_i, a_j> / (|a_i| |a_j|)``. The
    distance is the mean over pairs of rows of the squared difference between
    the two networks' similarities (pairs weighted by the product of the rows'
    weights), summed over the layers. It does not depend on how each network
    orders, rotates or scales its hidden units, so it compares two
    independently initialised networks meaningfully.

    Parameters
    ----------
    activations : list of Tensor
        One entry per layer call, each of shape (n_samples, ...), of the network
        being trained (differentiable).
    references : list of Tensor
        The same layer calls of the reference network on the same rows, as
        :func:`unit_rows`, in the same order.
    sample_weight : Tensor of shape (n_samples,) or None, default=None
        Row weights.

    Returns
    -------
    distance : scalar Tensor
        0 when the similarities agree (always, for a single row); at most 4 per
        layer.
    """
    if len(activations) != len(references):
        raise RuntimeError(
            f"the model's loss ran {len(activations)} hidden layer calls on the forget rows "
            f"and the blindspot model's {len(references)}; they must run the same layers."
        )
    total = torch.zeros((), device=references[0].device if references else None)
    pair_weight = None if sample_weight is None else torch.outer(sample_weight, sample_weight)
    for activation, reference in zip(activations, references):
        unit = unit_rows(activation)
        gap = torch.square(unit @ unit.T - reference @ reference.T)
        total = total + (
            gap.mean() if pair_weight is None else (gap * pair_weight).sum() / pair_weight.sum()
        )
    return total
