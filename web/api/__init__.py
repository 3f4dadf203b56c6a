"""The HTTP API, split by concern (FastAPI's "bigger applications" layout): ``app``
(create_app), ``errors``, ``keys``, ``ratelimit``, ``body``, ``deps``, ``models`` and
one router module per resource (``ask``, ``search``, ``reports``, ``facts``,
``checks``, ``health``)."""
