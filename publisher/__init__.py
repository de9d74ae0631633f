"""OPD Publisher: publish public information of Indonesian local-government agencies."""

__version__ = "0.1.0"
