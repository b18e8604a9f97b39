"""`python -m jpegai_fd.report`: the thesis's tables and charts from the tracked runs (``build``,
``runs``, ``tables``, ``charts``; the command imports them only once its arguments are parsed)."""
