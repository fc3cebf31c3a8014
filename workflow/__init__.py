"""ivig: runs IVIG treatment courses from request to re-treatment."""

__version__ = "0.1.0"
