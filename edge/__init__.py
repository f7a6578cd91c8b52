"""LSI Edge: privacy-preserving classroom engagement analytics for edge devices."""

__version__ = "0.1.0"
