"""The base of this project's own errors.

Every error the library raises on purpose is a ``NianbaoError`` (and, where it helps
callers, also the built-in it refines: an ``IndexNotFound`` is a ``FileNotFoundError``,
a ``QuestionError`` a ``ValueError``). The command line, the API and the page turn one
into a single readable line or an error envelope; anything else is a bug and is logged.

    IngestError            a file that cannot be read as a report (index.document)
    MetadataFileError      a staff metadata CSV that cannot be used (index.metadata)
    BuildLocked            another build of the same index is running (index.build)
    IndexNotFound          no index, or not the part asked for (index.served)
    EmbeddingModelMissing  the embedding model is not installed (index.settings)
    QuestionError          an empty or over-long question (qa.understand)
"""


class NianbaoError(Exception):
    """An error this project raises on purpose; its message says what to do."""
