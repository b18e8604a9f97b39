"""`python -m jpegai_fd.report`: the thesis's tables and charts from the tracked runs (``runs`` reads
them, ``tables``, ``charts`` and ``comparisons`` make the files, ``build`` writes them and the extra ones)."""
