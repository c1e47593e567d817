"""What every batch worker imports before its first job: loaded once, in the pool's fork server
(:func:`analyse.reporting.runner.start_pool`), and inherited by each worker forked from it.

jsonschema (through nbformat, which papermill and nbconvert read notebooks with) imports the optional
``rfc3987_syntax`` when it is installed, which compiles an IRI grammar for about 2 s; no notebook schema
has an IRI format, so the workers go without it (see :func:`analyse.reporting.runner._worker_start`).
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)

import papermill  # noqa: E402,F401
