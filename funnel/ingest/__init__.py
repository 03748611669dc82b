"""Reading exports: containers, encodings, layouts, and the load report."""
