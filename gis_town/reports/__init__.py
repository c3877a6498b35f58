"""Reports: labels, tables and writers of the analyses' results."""
