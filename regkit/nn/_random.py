"""Where regkit's neural estimators draw their random numbers from.

Every fit owns one :class:`torch.Generator`, seeded from ``random_state``. Module
initialisation, dropout masks, noise injected by a network, the validation split and
the minibatch order all draw from it; torch's process-wide generator is never seeded,
read or advanced. Two fits running in two threads therefore cannot disturb each
other, and each gives the model a sequential fit with the same seed gives.

Code that builds a module or runs one in training mode cannot receive the generator
as an argument through ``torch.nn.Sequential``: the active generator is a context
variable instead (one per thread), set by :func:`use_generator` and read by
:func:`current_generator`, which regkit's layers call.
"""

import contextlib
import contextvars

import torch

from regkit.utils import check_random_seed

__all__ = ["current_generator", "make_generator", "use_generator"]


class _Generators:
    """The generator of one fit, and one generator per accelerator it runs on.

    Dropout on a CUDA tensor needs a CUDA generator; it is created on first use and
    seeded from the CPU generator, so its stream too is fixed by ``random_state``.
    """

    def __init__(self, generator):
        self.cpu = generator
        self.others = {}

    def get(self, device):
        device = torch.device(device)
        if device.type in {"cpu", "meta"}:
            return self.cpu
        key = str(device)
        if key not in self.others:
            seed = int(torch.randint(2**62, (1,), generator=self.cpu))
            self.others[key] = torch.Generator(device=device).manual_seed(seed)
        return self.others[key]


_ACTIVE = contextvars.ContextVar("regkit_active_generator", default=None)


def make_generator(random_state):
    """A new CPU :class:`torch.Generator` seeded from ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        As everywhere in scikit-learn: an int gives the same generator every time.

    Returns
    -------
    generator : torch.Generator

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import make_generator
    >>> a = torch.rand(2, generator=make_generator(0))
    >>> b = torch.rand(2, generator=make_generator(0))
    >>> bool(torch.equal(a, b))
    True
    """
    return torch.Generator().manual_seed(check_random_seed(random_state))


@contextlib.contextmanager
def use_generator(generator):
    """Make ``generator`` the source of randomness of regkit layers in this thread.

    Inside the block, :func:`current_generator` returns ``generator`` (or, for a
    CUDA device, a generator seeded from it): regkit's ``Linear`` draws its initial
    weights from it, ``Dropout`` its masks, :class:`~regkit.regression.CSIBRegressor`
    its noise. The training loop (:func:`run_epochs`) enters this block itself;
    enter it yourself to build a module reproducibly.

    Parameters
    ----------
    generator : torch.Generator
        A CPU generator.

    Yields
    ------
    generator : torch.Generator
        The same generator.

    Examples
    --------
    >>> import torch
    >>> from regkit.nn import make_generator, make_mlp, use_generator
    >>> with use_generator(make_generator(0)):
    ...     a = make_mlp(3, (4,), n_outputs=1)
    >>> with use_generator(make_generator(0)):
    ...     b = make_mlp(3, (4,), n_outputs=1)
    >>> bool(torch.equal(a[0].weight, b[0].weight))
    True
    """
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise TypeError(f"generator must be a CPU torch.Generator, got {generator!r}.")
    token = _ACTIVE.set(_Generators(generator))
    try:
        yield generator
    finally:
        _ACTIVE.reset(token)


def current_generator(device="cpu"):
    """The generator that random draws for tensors on ``device`` should use.

    Parameters
    ----------
    device : str or torch.device, default="cpu"
        Device of the tensor to draw.

    Returns
    -------
    generator : torch.Generator or None
        The generator set by the innermost :func:`use_generator` of this thread
        (a generator on ``device`` seeded from it for an accelerator), or None
        outside such a block: torch functions then use torch's default generator,
        as plain torch code does.

    Examples
    --------
    >>> from regkit.nn import current_generator, make_generator, use_generator
    >>> current_generator() is None
    True
    >>> generator = make_generator(0)
    >>> with use_generator(generator):
    ...     current_generator() is generator
    True
    """
    active = _ACTIVE.get()
    return None if active is None else active.get(device)
