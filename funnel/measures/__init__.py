"""What the pages, the CLI and the report measure: one module per analysis, named as its page."""
