"""Reading trial data: file formats, layouts and column/arm/visit mappings."""

from .load import load
from .readers import read_source

__all__ = ["load", "read_source"]
