"""The web page for citizens."""
