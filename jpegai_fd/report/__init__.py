"""`python -m jpegai_fd.report`: the thesis's tables and charts from the tracked runs (``runs`` reads
them, ``tables``, ``charts``, ``comparisons`` and ``extra`` make the files, ``build`` writes them)."""
