"""evtctl: declarative topology and schema governance for event buses."""

__version__ = "0.1.0"
