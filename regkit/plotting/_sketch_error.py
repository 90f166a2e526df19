"""Coordinate-wise error of sketch-and-solve against sketch size and its radius."""

import numpy as np


class SketchErrorDisplay:
    """l-inf error of sketch-and-solve for several sketches and sketch sizes.

    Build it with :meth:`from_problem`, which sketches a problem of known solution
    over several seeds, or directly from measured values. ``plot(kind="size")``
    draws the error (median and worst over seeds) against the number of rows with
    each sketch's l-inf radius dashed; ``plot(kind="radius")`` draws error over
    radius, where the guarantee means staying below 1.

    Parameters
    ----------
    sketch_sizes : ndarray of shape (n_sizes,)
        Rows ``m`` of the sketches.
    errors : dict of str to ndarray of shape (n_seeds, n_sizes)
        ``max_j |x'_j - x*_j|`` per sketch name, seed and size.
    radii : dict of str to ndarray of shape (n_sizes,)
        l-inf radius per sketch name and size (``inf`` where there is none).

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The median-error line of each sketch.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from regkit.plotting import SketchErrorDisplay
    >>> from regkit.sketching import make_sketching_problem
    >>> A, b, x_star = make_sketching_problem(2000, 5, coherent=True, random_state=0)
    >>> display = SketchErrorDisplay.from_problem(
    ...     A, b, x_star, sketches=("srht", "count"), sketch_sizes=[100, 400], n_seeds=3
    ... )
    >>> display.errors["srht"].shape
    (3, 2)
    >>> display.plot()  # doctest: +SKIP
    """

    def __init__(self, *, sketch_sizes, errors, radii):
        self.sketch_sizes = np.asarray(sketch_sizes)
        self.errors = {name: np.asarray(value) for name, value in errors.items()}
        self.radii = {name: np.asarray(value, dtype=float) for name, value in radii.items()}

    @classmethod
    def from_problem(
        cls,
        A,
        b,
        x_star,
        *,
        sketches=("gaussian", "srht", "sparse_sign", "count"),
        sketch_sizes=(200, 400, 800, 1600),
        n_seeds=10,
        delta=0.01,
    ):
        """Sketch-and-solve ``min ||Ax - b||`` with each sketch, size and seed.

        Parameters
        ----------
        A : ndarray of shape (n, d)
            The design matrix.
        b : ndarray of shape (n,)
            The right-hand side.
        x_star : ndarray of shape (d,)
            The exact least-squares solution (errors are measured against it).
        sketches : sequence of str, default=("gaussian", "srht", "sparse_sign", "count")
            Names understood by :func:`regkit.sketching.get_sketch`.
        sketch_sizes : sequence of int, default=(200, 400, 800, 1600)
            Numbers of sketch rows to try.
        n_seeds : int, default=10
            Independent sketches drawn per sketch and size.
        delta : float, default=0.01
            Failure probability of the radius.

        Returns
        -------
        display : SketchErrorDisplay
        """
        from regkit.sketching import get_sketch, linf_radius

        A = np.asarray(A, dtype=np.float64)
        residual_norm = np.linalg.norm(b - A @ x_star)
        sigma_min = np.linalg.svd(A, compute_uv=False)[-1]
        Ab = np.column_stack([A, b])
        sizes = np.asarray(sketch_sizes, dtype=int)
        errors, radii = {}, {}
        for name in sketches:
            sketch = get_sketch(name)
            errors[name] = np.empty((n_seeds, len(sizes)))
            for j, m in enumerate(sizes):
                for seed in range(n_seeds):
                    SAb = sketch(int(m), random_state=seed).apply(Ab)
                    x = np.linalg.lstsq(SAb[:, :-1], SAb[:, -1], rcond=None)[0]
                    errors[name][seed, j] = np.abs(x - x_star).max()
            radii[name] = [
                linf_radius(
                    int(m),
                    A.shape[1],
                    delta,
                    residual_norm=residual_norm,
                    sigma_min=sigma_min,
                    sketch=sketch,
                )
                for m in sizes
            ]
        return cls(sketch_sizes=sizes, errors=errors, radii=radii)

    def plot(self, ax=None, *, kind="size"):
        """Draw the errors.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Axes to draw on; a new figure is created when None.
        kind : {"size", "radius"}, default="size"
            ``"size"``: error against sketch size, radius dashed. ``"radius"``:
            error divided by the radius (sketches without a radius are divided by
            the Gaussian one when available, else skipped).

        Returns
        -------
        self : SketchErrorDisplay
        """
        import matplotlib.pyplot as plt

        if kind not in {"size", "radius"}:
            raise ValueError(f"kind must be 'size' or 'radius', got {kind!r}.")
        if ax is None:
            _, ax = plt.subplots()
        fallback = self.radii.get("gaussian")
        self.lines_ = {}
        for name, errors in self.errors.items():
            radius = self.radii[name]
            if kind == "radius" and not np.isfinite(radius).all():
                if fallback is None:
                    continue
                radius, name = fallback, f"{name} (Gaussian radius)"
            scale = radius if kind == "radius" else 1.0
            (line,) = ax.plot(
                self.sketch_sizes, np.median(errors, axis=0) / scale, "o-", label=name
            )
            ax.plot(self.sketch_sizes, errors.max(axis=0) / scale, "v:", color=line.get_color())
            if kind == "size" and np.isfinite(radius).any():
                ax.plot(self.sketch_sizes, radius, "--", color=line.get_color(), alpha=0.6)
            self.lines_[name] = line
        if kind == "radius":
            ax.axhline(1.0, color="black", linewidth=1)
            ax.set_ylabel("l-inf error / radius (o median, v worst seed)")
        else:
            ax.set_ylabel("l-inf error (o median, v worst; -- radius)")
        ax.set(xscale="log", yscale="log", xlabel="sketch size m")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
