"""sheetgen: live, verified backpropagation workbooks for the 2-2-2 sigmoid network exercise."""

__version__ = "0.1.0"
