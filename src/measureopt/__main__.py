"""`python -m measureopt` runs the command line."""
from .cli import entry

entry()
