"""regkit: research results as dependable scikit-learn estimators.

Sub-packages are imported on demand so that ``import regkit`` stays light:
``regkit.regression``, ``regkit.forecasting``, ``regkit.unlearning``,
``regkit.sketching``, ``regkit.linear_model``, ``regkit.optim``, ``regkit.nn``,
``regkit.datasets``, ``regkit.plotting`` and ``regkit.utils``.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "show_versions"]


def show_versions():
    """Print the versions of regkit, its dependencies and the compute devices.

    Examples
    --------
    >>> import regkit
    >>> regkit.show_versions()  # doctest: +SKIP
    """
    from regkit.utils._show_versions import system_info

    for key, value in system_info().items():
        print(f"{key:>16}: {value}")
