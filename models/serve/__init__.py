"""What the app and the command line query: the :class:`Explorer` facade and its services."""
