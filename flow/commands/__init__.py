"""One module per `python -m flow` command; each has `register(subparsers)`."""
