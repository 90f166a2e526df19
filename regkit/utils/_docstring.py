"""Share parameter descriptions between docstrings without copying them."""


def fill_doc(**fragments):
    """Replace ``{name}`` placeholders in a class or function docstring.

    Only the names given are substituted, so other braces in the docstring (code in
    the Examples section, for instance) are left alone.

    Parameters
    ----------
    **fragments : str
        Text for each placeholder, by name; leading and trailing blank space is
        stripped (indent continuation lines as they must appear in the docstring).

    Returns
    -------
    decorate : callable
        A decorator that rewrites ``__doc__`` and returns the object.

    Examples
    --------
    >>> @fill_doc(shared="alpha : float\\n        Strength.")
    ... def f():
    ...     '''Parameters
    ...     ----------
    ...     {shared}
    ...     '''
    >>> "alpha : float" in f.__doc__
    True
    """

    def decorate(obj):
        doc = obj.__doc__ or ""
        for name, text in fragments.items():
            doc = doc.replace("{" + name + "}", text.strip())
        obj.__doc__ = doc
        return obj

    return decorate
