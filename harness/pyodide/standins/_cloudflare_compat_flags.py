"""Stand-in for the ``_cloudflare_compat_flags`` module workerd injects.

workerd generates this module from the Worker's compatibility flags. The
``workers`` SDK reads two of them (``python_workflows_implicit_dependencies``,
``python_request_headers_preserve_commas``) with ``getattr(module, name, False)``
or plain attribute access. Here every flag is off; the harness appends
``NAME = True`` lines for each ``--compat-flag NAME`` it is given.
"""


def __getattr__(name: str) -> bool:
    if name.startswith("__"):
        raise AttributeError(name)
    return False
