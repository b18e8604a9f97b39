"""Files that run inside the reference software's interpreter (standard library, numpy, torch only)."""
