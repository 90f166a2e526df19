"""Loaders for the real data bundled with scikit-learn and statsmodels."""

import pandas as pd
from sklearn.utils import Bunch


def _regression_bunch(frame, target, description, return_X_y):
    X = frame.drop(columns=target).astype(float)
    y = frame[target].astype(float)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=list(X.columns),
        target_names=[target],
        DESCR=description,
    )


def _statsmodels_description(module):
    # Some statsmodels datasets leave DESCRLONG empty; fall back to the shorter notes.
    return module.DESCRLONG.strip() or f"{module.TITLE.strip()}\n\n{module.NOTE.strip()}"


def _statsmodels_frame(name):
    from statsmodels import datasets

    return getattr(datasets, name).load_pandas().data.copy()


def load_diabetes(*, return_X_y=False):
    """Load scikit-learn's diabetes regression data (442 patients, 10 features).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : Bunch or tuple of (DataFrame, Series)
        ``data`` (features), ``target`` (disease progression one year later),
        ``frame``, ``feature_names``, ``target_names`` and ``DESCR``.

    Examples
    --------
    >>> from regkit.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X.shape
    (442, 10)
    """
    from sklearn import datasets

    frame = datasets.load_diabetes(as_frame=True).frame
    return _regression_bunch(frame, "target", datasets.load_diabetes().DESCR, return_X_y)


def load_randhie(*, return_X_y=False):
    """Load the RAND Health Insurance Experiment data (20190 rows, 9 features).

    The target ``mdvis`` counts outpatient visits to a doctor; it is a skewed,
    zero-inflated count, a hard target for MSE-trained models.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : Bunch or tuple of (DataFrame, Series)

    Examples
    --------
    >>> from regkit.datasets import load_randhie
    >>> X, y = load_randhie(return_X_y=True)
    >>> X.shape, y.name
    ((20190, 9), 'mdvis')
    """
    from statsmodels.datasets import randhie

    return _regression_bunch(
        _statsmodels_frame("randhie"), "mdvis", _statsmodels_description(randhie), return_X_y
    )


def load_fair(*, return_X_y=False):
    """Load Fair's extramarital-affairs survey (6366 rows, 8 features).

    The target ``affairs`` is a heavy-tailed, mostly-zero measure of time spent in
    affairs.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : Bunch or tuple of (DataFrame, Series)

    Examples
    --------
    >>> from regkit.datasets import load_fair
    >>> X, y = load_fair(return_X_y=True)
    >>> X.shape
    (6366, 8)
    """
    from statsmodels.datasets import fair

    return _regression_bunch(
        _statsmodels_frame("fair"), "affairs", _statsmodels_description(fair), return_X_y
    )


def load_co2(*, frequency="monthly"):
    """Load the Mauna Loa CO2 concentration series (ppm), March 1958 to December 2001.

    Parameters
    ----------
    frequency : {"monthly", "weekly"}, default="monthly"
        ``"weekly"`` is the raw record, which has 59 missing weeks (NaN).
        ``"monthly"`` averages each calendar month (index at month start, frequency
        ``"MS"``) and linearly interpolates the few months with no observation.

    Returns
    -------
    co2 : Series
        With a :class:`~pandas.DatetimeIndex` that carries its frequency.

    Examples
    --------
    >>> from regkit.datasets import load_co2
    >>> y = load_co2()
    >>> y.index.freqstr, bool(y.isna().any())
    ('MS', False)
    """
    series = _statsmodels_frame("co2")["co2"].rename("co2")
    if frequency == "weekly":
        return series.asfreq("W-SAT")
    if frequency == "monthly":
        return series.resample("MS").mean().interpolate("linear")
    raise ValueError(f"frequency must be 'monthly' or 'weekly', got {frequency!r}.")


def load_sunspots():
    """Load yearly sunspot activity, 1700 to 2008 (309 values).

    Returns
    -------
    sunspots : Series
        Named ``"sunspots"``, indexed by the first day of each year (frequency ``"YS-JAN"``).

    Examples
    --------
    >>> from regkit.datasets import load_sunspots
    >>> y = load_sunspots()
    >>> len(y), str(y.index[0].date())
    (309, '1700-01-01')
    """
    frame = _statsmodels_frame("sunspots")
    index = pd.date_range(str(int(frame["YEAR"].iloc[0])), periods=len(frame), freq="YS")
    return pd.Series(frame["SUNACTIVITY"].to_numpy(float), index=index, name="sunspots")


def load_elnino():
    """Load monthly Pacific sea-surface temperatures (El Nino), 1950 to 2010.

    Returns
    -------
    elnino : Series
        Degrees Celsius, one value per month (frequency ``"MS"``), 732 values.

    Examples
    --------
    >>> from regkit.datasets import load_elnino
    >>> load_elnino().index.freqstr
    'MS'
    """
    frame = _statsmodels_frame("elnino").set_index("YEAR")
    values = frame.to_numpy(float).ravel()  # row-major: year by year, January first
    start = f"{int(frame.index[0])}-01-01"
    index = pd.date_range(start, periods=len(values), freq="MS")
    return pd.Series(values, index=index, name="elnino")


def load_macrodata():
    """Load quarterly US macroeconomic data, 1959Q1 to 2009Q3 (203 quarters).

    Returns
    -------
    macrodata : DataFrame
        Twelve series (``realgdp``, ``realcons``, ``cpi``, ``unemp``...) indexed by the
        first day of each quarter (frequency ``"QS-JAN"``).

    Examples
    --------
    >>> from regkit.datasets import load_macrodata
    >>> frame = load_macrodata()
    >>> frame.shape, str(frame.index[0].date())
    ((203, 12), '1959-01-01')
    """
    frame = _statsmodels_frame("macrodata")
    index = pd.date_range("1959-01-01", periods=len(frame), freq="QS-JAN")
    return frame.drop(columns=["year", "quarter"]).set_index(index)
