"""Share parameter descriptions between docstrings without copying them."""


def fill_doc(**fragments):
    """Replace ``{name}`` placeholders in a class or function docstring.

    Only the names given are substituted, so other braces in the docstring (code in
    the Examples section, for instance) are left alone.

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
