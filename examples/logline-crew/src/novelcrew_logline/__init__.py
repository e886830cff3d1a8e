"""A third-party novelcrew plugin: the ``logline`` crew."""
