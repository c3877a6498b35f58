"""Analyses: pure functions over GeoDataFrames, one module per analysis."""
